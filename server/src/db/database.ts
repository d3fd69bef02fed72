/**
 * Opens the SQLite database (better-sqlite3) behind Kysely with the pragmas Earshot relies on.
 * One process is the one writer; WAL lets readers (HTTP requests) proceed during a scan's writes.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';
import { registerSqlFunctions } from './sql-functions.js';

export type Db = Kysely<Database>;

export interface OpenedDatabase {
  db: Db;
  /** The raw connection, for pragmas, backups and synchronous hot paths (the scanner's batch writes). */
  sqlite: SQLite.Database;
  path: string;
  close(): Promise<void>;
}

export const DB_FILE_NAME = 'earshot.db';

export function openDatabase(path: string, options: { readonly?: boolean } = {}): OpenedDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path, {
    readonly: options.readonly ?? false,
    fileMustExist: options.readonly ?? false,
    nativeBinding: sqliteAddon(),
  });
  applyPragmas(sqlite);
  registerSqlFunctions(sqlite);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  let closed = false;
  return {
    db,
    sqlite,
    path,
    async close() {
      if (closed) return;
      closed = true;
      // Kysely's destroy closes the better-sqlite3 handle; checkpoint first so the main file is complete.
      try {
        if (!options.readonly) sqlite.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // A busy checkpoint is harmless: WAL replays on the next open.
      }
      await db.destroy();
    },
  };
}

let addon: string | null | undefined;

/**
 * The path of better-sqlite3's compiled addon, or undefined when it is not where its own build
 * puts it (then better-sqlite3 looks for it through the `bindings` package as usual). Given as
 * `nativeBinding`, it spares every start that search: `bindings` finds its caller's folder from a
 * stack trace and tries a dozen build folders one `stat` at a time (~5 ms of `serve`'s start-up,
 * issue 16 item 5). It is the same file the search would find first in an ordinary install.
 */
export function sqliteAddon(): string | undefined {
  if (addon === undefined) {
    try {
      const pkg = createRequire(import.meta.url).resolve('better-sqlite3/package.json');
      const file = join(dirname(pkg), 'build', 'Release', 'better_sqlite3.node');
      addon = existsSync(file) ? file : null;
    } catch {
      addon = null;
    }
  }
  return addon ?? undefined;
}

export function applyPragmas(sqlite: SQLite.Database): void {
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('temp_store = MEMORY');
  // Bounded page cache (~16 MiB) keeps RSS low on phones and Pis.
  sqlite.pragma('cache_size = -16000');
}

/**
 * Returns this connection's unused heap memory (page cache) to the allocator: after a scan, or
 * when search goes idle. The cache refills on demand, up to `cache_size`.
 */
export function releaseMemory(sqlite: SQLite.Database): void {
  try {
    if (sqlite.open) sqlite.pragma('shrink_memory');
  } catch {
    // Best effort: a busy or closing connection keeps its cache.
  }
}

/** Prepared statements Kysely may reuse (distinct SQL texts). */
const STATEMENT_CACHE = 100;
/** Longer SQL is a multi-row insert or a long `in (?, ?, …)` list: rarely repeated, not worth keeping. */
const STATEMENT_CACHE_MAX_SQL = 2000;

/**
 * Kysely's SQLite driver prepares every query again; preparing costs more than running most of
 * them (the per-request session lookup, liked flags …). This view of the connection hands back the
 * same prepared statement for the same SQL text (LRU). Safe because Kysely runs one query at a
 * time on the connection (its mutex) and runs each statement to completion (`all`/`run`; the
 * driver's `iterate` is only used by `.stream()`, which Earshot does not use).
 */
export function withStatementCache(sqlite: SQLite.Database): Pick<SQLite.Database, 'prepare' | 'close'> {
  const cache = new Map<string, SQLite.Statement>();
  return {
    prepare(source: string) {
      let stmt = cache.get(source);
      if (stmt) {
        cache.delete(source);
      } else {
        stmt = sqlite.prepare(source);
        if (source.length > STATEMENT_CACHE_MAX_SQL) return stmt;
        if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(source, stmt);
      return stmt;
    },
    close() {
      cache.clear();
      return sqlite.close();
    },
  } as Pick<SQLite.Database, 'prepare' | 'close'>;
}

/** `PRAGMA quick_check` (or the full `integrity_check`): 'ok' or the list of problems. */
export function checkIntegrity(sqlite: SQLite.Database, full = false): string[] {
  const rows = sqlite.pragma(full ? 'integrity_check' : 'quick_check') as Record<string, string>[];
  return rows.map((r) => Object.values(r)[0]);
}
