/**
 * Typed view of the database for Kysely. Kept in step with migrations/ (a test compares the two).
 * Each area declares the tables its own migrations add in `tables/<area>.ts`; they are merged here.
 */
import type { Generated } from 'kysely';
import type { AccountsTables } from './tables/accounts.js';
import type { IdentityTables } from './tables/identity.js';
import type { LibraryTables } from './tables/library.js';
import type { SourcesTables } from './tables/sources.js';
import type { StreamingTables } from './tables/streaming.js';
import type { SubsonicTables } from './tables/subsonic.js';
import type { UiTables } from './tables/ui.js';

export type Bool = 0 | 1;

export interface UsersTable {
  id: string;
  username: string;
  username_key: string;
  password_hash: string | null;
  role: 'admin' | 'user';
  email: string | null;
  display_name: string | null;
  disabled: Generated<Bool>;
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  kind: Generated<string>;
  user_agent: string | null;
  ip: string | null;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: number;
}

export interface ArtworkTable {
  id: string;
  path: string;
  mime: string;
  width: number | null;
  height: number | null;
  size: number;
  source: Generated<string>;
  created_at: number;
}

export interface ArtistsTable {
  id: string;
  name: string;
  name_key: string;
  sort_name: string | null;
  mbz_artist_id: string | null;
  artwork_id: string | null;
  album_count: Generated<number>;
  track_count: Generated<number>;
  added_at: number;
  updated_at: number;
}

export interface AlbumsTable {
  id: string;
  name: string;
  sort_name: string | null;
  group_key: string;
  album_artist: string;
  artist_id: string | null;
  year: number | null;
  genre: string | null;
  compilation: Generated<Bool>;
  mbz_album_id: string | null;
  artwork_id: string | null;
  track_count: Generated<number>;
  disc_count: Generated<number>;
  duration: Generated<number>;
  added_at: number;
  updated_at: number;
}

export interface GenresTable {
  id: string;
  name: string;
  name_key: string;
  /** Kept by the scanner's regroup phase (migration 0007). */
  track_count: Generated<number>;
  album_count: Generated<number>;
}

export type SourceType = 'local' | 'youtube' | 'soundcloud' | 'url';

export interface TracksTable {
  id: string;
  source_type: Generated<SourceType>;
  remote_id: string | null;
  local_path: string | null;
  is_cached: Generated<Bool>;
  title: string;
  artist: string | null;
  album: string | null;
  album_artist: string | null;
  album_id: string | null;
  artist_id: string | null;
  track_number: number | null;
  track_total: number | null;
  disc_number: number | null;
  disc_total: number | null;
  year: number | null;
  date: string | null;
  genre: string | null;
  compilation: Generated<Bool>;
  duration: number | null;
  format: string | null;
  codec: string | null;
  bitrate: number | null;
  sample_rate: number | null;
  channels: number | null;
  size: number | null;
  mtime: number | null;
  content_hash: string | null;
  rg_track_gain: number | null;
  rg_track_peak: number | null;
  rg_album_gain: number | null;
  rg_album_peak: number | null;
  mbz_track_id: string | null;
  mbz_recording_id: string | null;
  mbz_album_id: string | null;
  mbz_artist_id: string | null;
  mbz_album_artist_id: string | null;
  lyrics: string | null;
  comment: string | null;
  artwork_id: string | null;
  thumbnail_url: string | null;
  added_by: string | null;
  added_at: number;
  updated_at: number;
}

export interface TrackArtistsTable {
  track_id: string;
  artist_id: string;
  role: Generated<string>;
  position: Generated<number>;
}

export interface TrackGenresTable {
  track_id: string;
  genre_id: string;
}

export interface PlaylistsTable {
  id: string;
  owner_id: string;
  name: string;
  description: Generated<string>;
  is_public: Generated<Bool>;
  is_offline: Generated<Bool>;
  created_at: number;
  updated_at: number;
}

export interface PlaylistTracksTable {
  id: string;
  playlist_id: string;
  position: number;
  track_id: string | null;
  title: string;
  artist: string | null;
  album: string | null;
  duration: number | null;
  added_at: number;
}

export interface UserActivityTable {
  user_id: string;
  item_type: 'track' | 'album' | 'artist';
  item_id: string;
  play_count: Generated<number>;
  is_liked: Generated<Bool>;
  liked_at: number | null;
  rating: number | null;
  last_played: number | null;
}

export interface PlaysTable {
  id: Generated<number>;
  user_id: string;
  track_id: string | null;
  played_at: number;
  seconds_played: number;
  client: string | null;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface JobsTable {
  id: string;
  type: string;
  dedupe_key: string | null;
  payload: Generated<string>;
  state: Generated<JobState>;
  attempts: Generated<number>;
  max_attempts: Generated<number>;
  run_after: number;
  progress: Generated<number>;
  last_error: string | null;
  owner_id: string | null;
  created_at: number;
  updated_at: number;
  /** The process that claimed the running job (0020; a random id per process, not a user). */
  claimed_by: string | null;
  /** Until when (ms) that claim holds unless renewed; a running job past it is requeued (0020). */
  lease_until: number | null;
}

export interface CoreTables {
  users: UsersTable;
  sessions: SessionsTable;
  settings: SettingsTable;
  artwork: ArtworkTable;
  artists: ArtistsTable;
  albums: AlbumsTable;
  genres: GenresTable;
  tracks: TracksTable;
  track_artists: TrackArtistsTable;
  track_genres: TrackGenresTable;
  playlists: PlaylistsTable;
  playlist_tracks: PlaylistTracksTable;
  user_activity: UserActivityTable;
  plays: PlaysTable;
  jobs: JobsTable;
}

export interface Database
  extends CoreTables,
    AccountsTables,
    LibraryTables,
    StreamingTables,
    SourcesTables,
    IdentityTables,
    SubsonicTables,
    UiTables {}
