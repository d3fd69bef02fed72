/**
 * 0001 — the seed schema (tracks, playlists, playlist_tracks, users, user_activity) in its richer
 * form (ARCHITECTURE.md §3), plus what every later area leans on: albums, artists, genres,
 * artwork, sessions, plays, jobs and settings.
 *
 * Conventions: ids are opaque random strings (never paths); times are integer Unix milliseconds
 * (`*_at`); booleans are 0/1 integers. Later areas add their own numbered migrations.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull())
    // Case-folded username: the unique key. `Admin` and `admin` are the same account.
    .addColumn('username_key', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text') // null for SSO-only accounts
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('user').check(sql`role in ('admin', 'user')`))
    .addColumn('email', 'text')
    .addColumn('display_name', 'text')
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // SHA-256 of the cookie secret; the secret itself is never stored.
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('web'))
    .addColumn('user_agent', 'text')
    .addColumn('ip', 'text')
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('last_seen_at', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'integer', (c) => c.notNull())
    .addColumn('revoked_at', 'integer')
    .execute();
  await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull()) // JSON
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('artwork')
    // Content address: hex SHA-256 of the original image bytes (deduplicates identical covers).
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('path', 'text', (c) => c.notNull()) // relative to the cache dir
    .addColumn('mime', 'text', (c) => c.notNull())
    .addColumn('width', 'integer')
    .addColumn('height', 'integer')
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('embedded')) // embedded | file | remote
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('artists')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', 'text', (c) => c.notNull().unique()) // case/diacritics-folded grouping key
    .addColumn('sort_name', 'text')
    .addColumn('mbz_artist_id', 'text')
    .addColumn('artwork_id', 'text', (c) => c.references('artwork.id').onDelete('set null'))
    .addColumn('album_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('track_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('added_at', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('albums')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('sort_name', 'text')
    // Grouping key: folded album artist + album name (+ MusicBrainz album id when present).
    .addColumn('group_key', 'text', (c) => c.notNull().unique())
    .addColumn('album_artist', 'text', (c) => c.notNull())
    .addColumn('artist_id', 'text', (c) => c.references('artists.id').onDelete('set null'))
    .addColumn('year', 'integer')
    .addColumn('genre', 'text')
    .addColumn('compilation', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('mbz_album_id', 'text')
    .addColumn('artwork_id', 'text', (c) => c.references('artwork.id').onDelete('set null'))
    .addColumn('track_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('disc_count', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('duration', 'real', (c) => c.notNull().defaultTo(0))
    .addColumn('added_at', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('albums_artist').on('albums').column('artist_id').execute();

  await db.schema
    .createTable('genres')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', 'text', (c) => c.notNull().unique())
    .execute();

  await db.schema
    .createTable('tracks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('source_type', 'text', (c) =>
      c.notNull().defaultTo('local').check(sql`source_type in ('local', 'youtube', 'soundcloud', 'url')`),
    )
    .addColumn('remote_id', 'text')
    // Local: path relative to the music dir. Remote: cached file relative to the cache dir (when cached).
    .addColumn('local_path', 'text')
    .addColumn('is_cached', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('artist', 'text') // display string of all track artists
    .addColumn('album', 'text')
    .addColumn('album_artist', 'text')
    .addColumn('album_id', 'text', (c) => c.references('albums.id').onDelete('set null'))
    .addColumn('artist_id', 'text', (c) => c.references('artists.id').onDelete('set null'))
    .addColumn('track_number', 'integer')
    .addColumn('track_total', 'integer')
    .addColumn('disc_number', 'integer')
    .addColumn('disc_total', 'integer')
    .addColumn('year', 'integer')
    .addColumn('date', 'text')
    .addColumn('genre', 'text') // display string of all genres
    .addColumn('compilation', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('duration', 'real') // seconds
    .addColumn('format', 'text') // container/suffix: mp3, flac, m4a, ogg, opus, wav …
    .addColumn('codec', 'text')
    .addColumn('bitrate', 'integer') // kbps
    .addColumn('sample_rate', 'integer')
    .addColumn('channels', 'integer')
    .addColumn('size', 'integer') // bytes
    .addColumn('mtime', 'integer') // ms
    .addColumn('content_hash', 'text')
    .addColumn('rg_track_gain', 'real')
    .addColumn('rg_track_peak', 'real')
    .addColumn('rg_album_gain', 'real')
    .addColumn('rg_album_peak', 'real')
    .addColumn('mbz_track_id', 'text')
    .addColumn('mbz_recording_id', 'text')
    .addColumn('mbz_album_id', 'text')
    .addColumn('mbz_artist_id', 'text')
    .addColumn('mbz_album_artist_id', 'text')
    .addColumn('lyrics', 'text')
    .addColumn('comment', 'text')
    .addColumn('artwork_id', 'text', (c) => c.references('artwork.id').onDelete('set null'))
    .addColumn('thumbnail_url', 'text') // remote tracks: the provider's thumbnail
    .addColumn('added_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('added_at', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();
  await sql`create unique index tracks_local_path on tracks(local_path) where source_type = 'local'`.execute(db);
  await sql`create unique index tracks_remote on tracks(source_type, remote_id) where remote_id is not null`.execute(
    db,
  );
  await db.schema
    .createIndex('tracks_album')
    .on('tracks')
    .columns(['album_id', 'disc_number', 'track_number'])
    .execute();
  await db.schema.createIndex('tracks_artist').on('tracks').column('artist_id').execute();
  await db.schema.createIndex('tracks_added').on('tracks').column('added_at').execute();
  await db.schema.createIndex('tracks_hash').on('tracks').column('content_hash').execute();

  await db.schema
    .createTable('track_artists')
    .addColumn('track_id', 'text', (c) => c.notNull().references('tracks.id').onDelete('cascade'))
    .addColumn('artist_id', 'text', (c) => c.notNull().references('artists.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('artist')) // artist | albumartist
    .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('track_artists_pk', ['track_id', 'artist_id', 'role'])
    .execute();
  await db.schema.createIndex('track_artists_artist').on('track_artists').column('artist_id').execute();

  await db.schema
    .createTable('track_genres')
    .addColumn('track_id', 'text', (c) => c.notNull().references('tracks.id').onDelete('cascade'))
    .addColumn('genre_id', 'text', (c) => c.notNull().references('genres.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('track_genres_pk', ['track_id', 'genre_id'])
    .execute();
  await db.schema.createIndex('track_genres_genre').on('track_genres').column('genre_id').execute();

  await db.schema
    .createTable('playlists')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_offline', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('playlists_owner').on('playlists').column('owner_id').execute();

  await db.schema
    .createTable('playlist_tracks')
    .addColumn('id', 'text', (c) => c.primaryKey()) // an entry id: duplicates of a track are distinct entries
    .addColumn('playlist_id', 'text', (c) => c.notNull().references('playlists.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    // Null once the track is deleted; the snapshot columns below let the UI show it as unavailable.
    .addColumn('track_id', 'text', (c) => c.references('tracks.id').onDelete('set null'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('artist', 'text')
    .addColumn('album', 'text')
    .addColumn('duration', 'real')
    .addColumn('added_at', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('playlist_tracks_order')
    .on('playlist_tracks')
    .columns(['playlist_id', 'position'])
    .execute();
  await db.schema.createIndex('playlist_tracks_track').on('playlist_tracks').column('track_id').execute();

  await db.schema
    .createTable('user_activity')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('item_type', 'text', (c) => c.notNull().check(sql`item_type in ('track', 'album', 'artist')`))
    .addColumn('item_id', 'text', (c) => c.notNull())
    .addColumn('play_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_liked', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('liked_at', 'integer')
    .addColumn('rating', 'integer')
    .addColumn('last_played', 'integer')
    .addPrimaryKeyConstraint('user_activity_pk', ['user_id', 'item_type', 'item_id'])
    .execute();
  await db.schema.createIndex('user_activity_item').on('user_activity').columns(['item_type', 'item_id']).execute();

  await db.schema
    .createTable('plays')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('track_id', 'text', (c) => c.references('tracks.id').onDelete('set null'))
    .addColumn('played_at', 'integer', (c) => c.notNull())
    .addColumn('seconds_played', 'real', (c) => c.notNull())
    .addColumn('client', 'text')
    .execute();
  await db.schema.createIndex('plays_user_time').on('plays').columns(['user_id', 'played_at']).execute();

  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull()) // e.g. 'cache-track', 'scan'
    .addColumn('dedupe_key', 'text') // one live job per (type, key)
    .addColumn('payload', 'text', (c) => c.notNull().defaultTo('{}')) // JSON
    .addColumn('state', 'text', (c) =>
      c.notNull().defaultTo('queued').check(sql`state in ('queued', 'running', 'done', 'failed')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull().defaultTo(5))
    .addColumn('run_after', 'integer', (c) => c.notNull())
    .addColumn('progress', 'real', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('owner_id', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();
  await sql`create unique index jobs_dedupe on jobs(type, dedupe_key) where state in ('queued', 'running')`.execute(db);
  await db.schema.createIndex('jobs_ready').on('jobs').columns(['state', 'run_after']).execute();
}
