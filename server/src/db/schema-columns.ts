/**
 * Every table and column of the typed schema, checked both ways:
 *  - by the compiler: each entry must list exactly the columns of its `Database` interface
 *    (a missing column is a type error; an unknown one is an excess-property error);
 *  - by db/migrate.test.ts: the migrated SQLite tables must have exactly these columns.
 * So db/schema.ts (and db/tables/*) cannot drift from migrations/.
 */
import type { Database } from './schema.js';

type Columns<T> = { [K in keyof T]-?: true };
type AllTables = { [T in keyof Database]: Columns<Database[T]> };

/** `table('users')('id', …)`: names must be columns of that table; completeness is checked by the assignment. */
const table =
  <T extends keyof Database>(_name: T) =>
  <K extends keyof Database[T] & string>(...names: K[]) =>
    Object.fromEntries(names.map((n) => [n, true])) as Record<K, true>;

export const SCHEMA_COLUMNS: AllTables = {
  users: table('users')('id', 'username', 'username_key', 'password_hash', 'role', 'email', 'display_name', 'disabled', 'created_at', 'updated_at'),
  sessions: table('sessions')('id', 'token_hash', 'user_id', 'kind', 'user_agent', 'ip', 'created_at', 'last_seen_at', 'expires_at', 'revoked_at'),
  settings: table('settings')('key', 'value', 'updated_at'),
  artwork: table('artwork')('id', 'path', 'mime', 'width', 'height', 'size', 'source', 'created_at'),
  artists: table('artists')('id', 'name', 'name_key', 'sort_name', 'mbz_artist_id', 'artwork_id', 'album_count', 'track_count', 'added_at', 'updated_at'),
  albums: table('albums')(
    'id', 'name', 'sort_name', 'group_key', 'album_artist', 'artist_id', 'year', 'genre', 'compilation', 'mbz_album_id',
    'artwork_id', 'track_count', 'disc_count', 'duration', 'added_at', 'updated_at',
  ),
  genres: table('genres')('id', 'name', 'name_key'),
  tracks: table('tracks')(
    'id', 'source_type', 'remote_id', 'local_path', 'is_cached', 'title', 'artist', 'album', 'album_artist', 'album_id',
    'artist_id', 'track_number', 'track_total', 'disc_number', 'disc_total', 'year', 'date', 'genre', 'compilation',
    'duration', 'format', 'codec', 'bitrate', 'sample_rate', 'channels', 'size', 'mtime', 'content_hash', 'rg_track_gain',
    'rg_track_peak', 'rg_album_gain', 'rg_album_peak', 'mbz_track_id', 'mbz_recording_id', 'mbz_album_id', 'mbz_artist_id',
    'mbz_album_artist_id', 'lyrics', 'comment', 'artwork_id', 'thumbnail_url', 'added_by', 'added_at', 'updated_at',
  ),
  track_artists: table('track_artists')('track_id', 'artist_id', 'role', 'position'),
  track_genres: table('track_genres')('track_id', 'genre_id'),
  playlists: table('playlists')('id', 'owner_id', 'name', 'description', 'is_public', 'is_offline', 'created_at', 'updated_at'),
  playlist_tracks: table('playlist_tracks')('id', 'playlist_id', 'position', 'track_id', 'title', 'artist', 'album', 'duration', 'added_at'),
  user_activity: table('user_activity')('user_id', 'item_type', 'item_id', 'play_count', 'is_liked', 'liked_at', 'rating', 'last_played'),
  plays: table('plays')('id', 'user_id', 'track_id', 'played_at', 'seconds_played', 'client'),
  jobs: table('jobs')(
    'id', 'type', 'dedupe_key', 'payload', 'state', 'attempts', 'max_attempts', 'run_after', 'progress', 'last_error',
    'owner_id', 'created_at', 'updated_at',
  ),
  source_permissions: table('source_permissions')('user_id', 'can_play_urls', 'updated_at'),
};
