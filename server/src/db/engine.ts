/**
 * Which database engine is behind a Kysely instance, and opening either one: SQLite (the default,
 * one file beside the data) or PostgreSQL when `EARSHOT_DATABASE_URL` names one. Code that needs
 * something only one engine has (the raw SQLite handle, FTS5, triggers) asks `engineOf(db)`.
 */
import { type Kysely, PostgresAdapter } from 'kysely';
import { type OpenedDatabase, openDatabase } from './database.js';
import type { Database } from './schema.js';

export type Engine = 'sqlite' | 'postgres';

export function engineOf(db: Kysely<unknown> | Kysely<Database>): Engine {
  // getExecutor() is marked internal in Kysely's docs but is the one way to reach the adapter of a
  // transaction or migration-scoped instance (they are new Kysely objects over the same dialect).
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

export interface PostgresDatabase {
  db: Kysely<Database>;
  engine: 'postgres';
  sqlite?: undefined;
  /** The URL with its password masked: safe for logs and `earshot doctor`. */
  url: string;
  close(): Promise<void>;
}

export type AnyDatabase = (OpenedDatabase & { engine: 'sqlite' }) | PostgresDatabase;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db` (also in query strings). */
export function maskDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|secret|key/i.test(key)) u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

/**
 * PostgreSQL when `url` is given, else the SQLite file at `path` (as before the engine choice).
 * The `pg` driver is imported only then: a SQLite server never loads it (start-up, memory).
 */
export async function connectDatabase(options: { url?: string; path: string }): Promise<AnyDatabase> {
  if (options.url) {
    if (!isPostgresUrl(options.url)) {
      throw new Error(
        `EARSHOT_DATABASE_URL must start with postgres:// or postgresql:// (got ${maskDatabaseUrl(options.url)})`,
      );
    }
    const { openPostgres } = await import('./postgres.js');
    const { db } = openPostgres(options.url);
    let closed = false;
    return {
      db,
      engine: 'postgres',
      url: maskDatabaseUrl(options.url),
      async close() {
        if (closed) return;
        closed = true;
        await db.destroy();
      },
    };
  }
  return Object.assign(openDatabase(options.path), { engine: 'sqlite' as const });
}

/**
 * Runs `body` in a transaction, or in the current one: Kysely's migrator already wraps each
 * migration in a transaction on PostgreSQL (transactional DDL) and nested `transaction()` throws.
 */
export async function inTransaction<T>(db: Kysely<unknown>, body: (trx: Kysely<unknown>) => Promise<T>): Promise<T> {
  return db.isTransaction ? body(db) : db.transaction().execute(body);
}

/**
 * The SQLite side of `database`, for code that only exists on SQLite (tests reading the file
 * directly): throws a clear error naming `what` when the database is PostgreSQL.
 */
export function requireSqlite(database: AnyDatabase, what: string): OpenedDatabase & { engine: 'sqlite' } {
  if (database.engine !== 'sqlite') throw new Error(`${what} does not run on PostgreSQL yet`);
  return database;
}
