/**
 * The SQL of the system area: readiness probes, the admin dashboard's counts and the storage
 * report's track counts. Portable Kysely; the one engine-specific reading (the database's size)
 * says which engine it needs.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { engineOf } from '../db/engine.js';
import { pendingMigrations } from '../db/migrate.js';

export type CountedTable = 'users' | 'tracks' | 'albums' | 'artists' | 'playlists';

export class SystemRepository {
  constructor(private readonly db: Db) {}

  /** Throws when the database cannot answer a trivial query. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  /**
   * Bytes the database takes on its server (PostgreSQL: `pg_database_size`), or null on SQLite,
   * whose size is its files' (the caller measures those beside the data).
   */
  async serverSideSize(): Promise<number | null> {
    if (engineOf(this.db) !== 'postgres') return null;
    const { rows } = await sql<{ bytes: number }>`select pg_database_size(current_database()) as bytes`.execute(
      this.db,
    );
    return Number(rows[0]?.bytes ?? 0);
  }

  /** Names of the migrations this binary knows that the database has not applied. */
  pendingMigrations(): Promise<string[]> {
    return pendingMigrations(this.db);
  }

  async count(table: CountedTable): Promise<number> {
    const row = await this.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Local tracks, remote tracks, and remote tracks with a cached copy. */
  async trackCounts(): Promise<{ local: number; remote: number; cached: number }> {
    const counts = await this.db
      .selectFrom('tracks')
      .select((eb) => [
        eb.fn.countAll<number>().filterWhere('source_type', '=', 'local').as('local'),
        eb.fn.countAll<number>().filterWhere('source_type', '!=', 'local').as('remote'),
        eb.fn
          .countAll<number>()
          .filterWhere((e) => e.and([e('source_type', '!=', 'local'), e('is_cached', '=', 1)]))
          .as('cached'),
      ])
      .executeTakeFirstOrThrow();
    return { local: Number(counts.local), remote: Number(counts.remote), cached: Number(counts.cached) };
  }
}
