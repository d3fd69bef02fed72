/**
 * Numbered migrations, run at start-up and by `earshot migrate`. The list is static (imported
 * modules, not a folder read at run time) so the compiled server and the tests see the same set.
 */
import { type Migration, type MigrationResultSet, Migrator, sql } from 'kysely';
import type { Db } from './database.js';
import * as m0001 from './migrations/0001_initial.js';
import * as m0004 from './migrations/0004_streaming.js';
import * as m0003 from './migrations/0003_library.js';
import * as m0002 from './migrations/0002_accounts.js';
import * as m0005 from './migrations/0005_sources.js';
import * as m0006 from './migrations/0006_search_prefixes.js';
import * as m0007 from './migrations/0007_genre_counts.js';
import * as m0008 from './migrations/0008_catalog_version.js';
import * as m0009 from './migrations/0009_scan_scope.js';
import * as m0011 from './migrations/0011_identities.js';
import * as m0010 from './migrations/0010_subsonic.js';
import * as m0015 from './migrations/0015_ui_preferences.js';
import * as m0016 from './migrations/0016_share_description.js';
import * as m0017 from './migrations/0017_search_nfkc.js';
import * as m0019 from './migrations/0019_search_postgres.js';
import * as m0020 from './migrations/0020_job_leases.js';
import * as m0023 from './migrations/0023_scan_stamps.js';

export const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': m0001,
  '0004_streaming': m0004,
  '0003_library': m0003,
  '0002_accounts': m0002,
  '0005_sources': m0005,
  '0006_search_prefixes': m0006,
  '0007_genre_counts': m0007,
  '0008_catalog_version': m0008,
  '0009_scan_scope': m0009,
  '0011_identities': m0011,
  '0010_subsonic': m0010,
  '0015_ui_preferences': m0015,
  '0016_share_description': m0016,
  '0017_search_nfkc': m0017,
  '0019_search_postgres': m0019,
  '0020_job_leases': m0020,
  '0023_scan_stamps': m0023,
};

export class MigrationError extends Error {}

export function createMigrator(db: Db): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
  });
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
}

/**
 * The applied migrations' names when they are exactly the known set (the schema is current), else
 * null. One small query: Kysely's Migrator first introspects every table of the database (a
 * `pragma table_info` each), ~30–80 ms of every start-up (issue 16), just to find its own table.
 * Anything unusual (no table yet, a pending or an unknown migration) returns null and takes the
 * Migrator's full path, with its checks and its lock.
 */
async function currentMigrations(db: Db): Promise<string[] | null> {
  let names: string[];
  try {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    names = rows.map((r) => r.name);
  } catch {
    return null;
  }
  const known = Object.keys(MIGRATIONS);
  const applied = new Set(names);
  return applied.size === known.length && known.every((name) => applied.has(name)) ? names : null;
}

export async function migrateToLatest(db: Db): Promise<MigrationReport> {
  const current = await currentMigrations(db);
  if (current) return { applied: [], alreadyApplied: current };
  const migrator = createMigrator(db);
  const before = new Set((await migrator.getMigrations()).filter((m) => m.executedAt).map((m) => m.name));
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`Database migration ${failed} failed: ${(error as Error).message}`, { cause: error });
  }
  return {
    applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName),
    alreadyApplied: [...before],
  };
}

/** Names of known migrations not yet applied (empty when the schema is current). */
export async function pendingMigrations(db: Db): Promise<string[]> {
  if (await currentMigrations(db)) return [];
  const all = await createMigrator(db).getMigrations();
  return all.filter((m) => !m.executedAt).map((m) => m.name);
}
