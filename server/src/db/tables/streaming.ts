/** Tables added by the streaming area's own migrations (keep in step with db/migrations/0004_streaming.ts). */
import type { Generated } from 'kysely';
import type { Bool } from '../schema.js';

export type StreamFormatPreference = 'raw' | 'opus' | 'mp3' | 'aac';

export interface StreamPreferencesTable {
  user_id: string;
  default_format: Generated<StreamFormatPreference>;
  default_max_bitrate: Generated<number>;
  lan_original: Generated<Bool>;
  estimate_content_length: Generated<Bool>;
  updated_at: number;
}

export type ShareKind = 'track' | 'album' | 'playlist';

export interface SharesTable {
  id: string;
  owner_id: string;
  kind: ShareKind;
  item_id: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  view_count: Generated<number>;
  last_viewed_at: number | null;
  /** What the sharer wrote about it (Subsonic createShare/updateShare); null when nothing. */
  description: string | null;
}

export interface StreamingTables {
  stream_preferences: StreamPreferencesTable;
  shares: SharesTable;
}
