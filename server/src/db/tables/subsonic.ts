/** Tables added by migration 0010 (Subsonic access, play queue, bookmarks); keep in step with it. */

export interface ApiKeysTable {
  id: string;
  user_id: string;
  label: string;
  /** SHA-256 hex of the key; the key itself is shown once. */
  key_hash: string;
  /** The last characters of the key, to tell keys apart in lists. */
  hint: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface AppPasswordsTable {
  id: string;
  user_id: string;
  label: string;
  /** AES-256-GCM (key derived from the server key): `iv.tag.ciphertext`, base64url. */
  secret_enc: string;
  hint: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface PlayQueuesTable {
  user_id: string;
  /** JSON array of track ids, in order. */
  track_ids: string;
  current_index: number | null;
  position_ms: number;
  changed_at: number;
  changed_by: string;
}

export interface BookmarksTable {
  user_id: string;
  track_id: string;
  position_ms: number;
  comment: string | null;
  created_at: number;
  changed_at: number;
}

export interface SubsonicTables {
  api_keys: ApiKeysTable;
  app_passwords: AppPasswordsTable;
  play_queues: PlayQueuesTable;
  bookmarks: BookmarksTable;
}
