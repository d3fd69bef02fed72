/**
 * Opens the SQLite database (better-sqlite3) behind Kysely with the pragmas Earshot relies on.
 * One process is the one writer; WAL lets readers (HTTP requests) proceed during a scan's writes.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';

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
  const sqlite = new SQLite(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  applyPragmas(sqlite);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
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

export function applyPragmas(sqlite: SQLite.Database): void {
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('temp_store = MEMORY');
  // Bounded page cache (~16 MiB) keeps RSS low on phones and Pis.
  sqlite.pragma('cache_size = -16000');
}

/** `PRAGMA quick_check` (or the full `integrity_check`): 'ok' or the list of problems. */
export function checkIntegrity(sqlite: SQLite.Database, full = false): string[] {
  const rows = sqlite.pragma(full ? 'integrity_check' : 'quick_check') as Record<string, string>[];
  return rows.map((r) => Object.values(r)[0]);
}
