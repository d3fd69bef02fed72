/** Tables added by the library area's own migrations (keep in step with db/migrations/0003_library.ts). */
import type { Generated } from 'kysely';

export type ScanKind = 'full' | 'incremental';
export type ScanState = 'running' | 'done' | 'failed' | 'interrupted';

export interface ScanRunsTable {
  id: string;
  kind: ScanKind;
  state: ScanState;
  phase: string | null;
  trigger: Generated<string>;
  /** `host:pid` of the scanning process. */
  owner: string | null;
  files_total: Generated<number>;
  files_done: Generated<number>;
  added: Generated<number>;
  updated: Generated<number>;
  moved: Generated<number>;
  removed: Generated<number>;
  unreadable: Generated<number>;
  deferred: Generated<number>;
  /** JSON object: phase name → milliseconds. */
  phase_ms: Generated<string>;
  error: string | null;
  started_at: number;
  finished_at: number | null;
  /** JSON array of the folders a folder-scoped scan covered; null: the whole library (0009). */
  folders: string | null;
}

/** Files the scanner could not read, with the reason (shown to admins). */
export interface ScanErrorsTable {
  local_path: string;
  reason: string;
  size: number;
  mtime: number;
  seen_at: number;
}

/** Stable FTS rowid for each indexed catalog id (maintained by triggers). */
export interface SearchKeysTable {
  rowid: Generated<number>;
  item_id: string;
}

/** One row: moved by every change to tracks, albums, artists and genres (triggers, migration 0008). */
export interface CatalogVersionTable {
  id: number;
  version: number;
}

export interface LibraryTables {
  scan_runs: ScanRunsTable;
  scan_errors: ScanErrorsTable;
  search_keys: SearchKeysTable;
  catalog_version: CatalogVersionTable;
}
