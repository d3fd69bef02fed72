/** Tables added by the sources area's own migrations (keep in step with db/migrations/). */
import type { Generated } from 'kysely';

/** 0005: who may play arbitrary http(s) URLs through yt-dlp (admins always may). */
export interface SourcePermissionsTable {
  user_id: string;
  can_play_urls: Generated<0 | 1>;
  updated_at: number;
}

export interface SourcesTables {
  source_permissions: SourcePermissionsTable;
}
