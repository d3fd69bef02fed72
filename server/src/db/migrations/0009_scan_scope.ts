/**
 * 0009 — the folders a folder-scoped scan covered (JSON array, relative to the music folder; null
 * for a scan of the whole library). The incremental scan's "folder image changed since the last
 * scan" check measures from the last whole-library scan, which a scoped scan is not.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table scan_runs add column folders text`.execute(db);
}
