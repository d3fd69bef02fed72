/**
 * Database backup and restore (backup.test.ts): backups use SQLite's online backup API
 * into a temp file beside the target, are verified with `integrity_check`, fsynced and renamed —
 * so a backup file that exists is complete. Restore refuses a damaged or foreign file, refuses
 * while a server is running on the database, and swaps the file in atomically.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { MIGRATIONS } from '../db/migrate.js';
import { commitFile, tempPathFor } from '../shared/atomic-file.js';
import { SERVER_KEY_FILE } from '../shared/server-key.js';
import { workerEntry } from '../shared/worker-entry.js';
import type { VerifyReply } from './backup-worker.js';

export const PID_FILE = 'earshot.pid';

export interface BackupResult {
  file: string;
  keyFile: string | null;
  bytes: number;
  migrations: number;
}

export class BackupError extends Error {}

function stamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
    .replace('T', '-');
}

/** Checks a database file: readable SQLite, passes integrity_check, and is an Earshot database. */
export function verifyDatabaseFile(file: string): { migrations: string[] } {
  if (!existsSync(file)) throw new BackupError(`${file} does not exist.`);
  let db: SQLite.Database | undefined;
  try {
    db = new SQLite(file, { readonly: true, fileMustExist: true });
    const result = (db.pragma('integrity_check') as Record<string, string>[]).map((r) => Object.values(r)[0]);
    if (result.length !== 1 || result[0] !== 'ok') {
      throw new BackupError(`${file} is damaged: ${result.slice(0, 3).join('; ')}`);
    }
    const hasTable = db.prepare("select 1 from sqlite_master where type = 'table' and name = 'kysely_migration'").get();
    if (!hasTable) throw new BackupError(`${file} is not an Earshot database (no migration history).`);
    const migrations = (db.prepare('select name from kysely_migration order by name').all() as { name: string }[]).map(
      (r) => r.name,
    );
    const unknown = migrations.filter((m) => !(m in MIGRATIONS));
    if (unknown.length > 0) {
      throw new BackupError(
        `${file} comes from a newer Earshot (unknown migrations: ${unknown.join(', ')}). Upgrade Earshot first.`,
      );
    }
    return { migrations };
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new BackupError(`${file} is not a readable SQLite database: ${(err as Error).message}`, { cause: err });
  } finally {
    db?.close();
  }
}

/**
 * `verifyDatabaseFile` on a worker thread, so a running server keeps answering while a backup of a
 * large library is checked page by page. Same answer and errors as the synchronous check.
 */
export function verifyDatabaseFileOffThread(file: string): Promise<{ migrations: string[] }> {
  const entry = workerEntry('system/backup-worker');
  return new Promise((resolve, reject) => {
    const worker = new Worker(entry.script, { eval: entry.eval, workerData: { file }, stdout: false, stderr: false });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.once('message', (reply: VerifyReply) =>
      settle(() => {
        if ('migrations' in reply) resolve({ migrations: reply.migrations });
        else reject(reply.backupError ? new BackupError(reply.error) : new Error(reply.error));
      }),
    );
    worker.once('error', (err) => settle(() => reject(new BackupError(`Checking ${file} failed: ${err.message}`))));
    worker.once('exit', (code) =>
      settle(() => reject(new BackupError(`Checking ${file} failed: its thread ended (code ${code})`))),
    );
  });
}

export async function backupDatabase(options: {
  dbFile: string;
  dbDir: string;
  out?: string;
  now?: Date;
  /** File name prefix in the default folder (`earshot-auto` for scheduled backups). */
  prefix?: string;
}): Promise<BackupResult> {
  if (!existsSync(options.dbFile)) throw new BackupError(`There is no database at ${options.dbFile} yet.`);
  const name = `${options.prefix ?? 'earshot'}-${stamp(options.now ?? new Date())}.db`;
  const out = options.out ?? join(defaultBackupDir(options.dbDir), name);
  // A backup holds password hashes and the server key: only the owner may read the folder and files.
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  const tmp = tempPathFor(out);
  const source = new SQLite(options.dbFile, { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    // The online backup API copies a consistent snapshot even while the server writes.
    await source.backup(tmp);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new BackupError(`Backup failed: ${(err as Error).message}`, { cause: err });
  } finally {
    source.close();
  }
  let migrations: string[];
  try {
    const copy = new SQLite(tmp);
    copy.pragma('journal_mode = DELETE'); // a single self-contained file
    copy.close();
    chmodSync(tmp, 0o600);
    migrations = (await verifyDatabaseFileOffThread(tmp)).migrations;
    await commitFile(tmp, out);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  let keyFile: string | null = null;
  const key = join(options.dbDir, SERVER_KEY_FILE);
  if (existsSync(key)) {
    keyFile = `${out}.key`;
    const keyTmp = tempPathFor(keyFile);
    copyFileSync(key, keyTmp);
    chmodSync(keyTmp, 0o600);
    await commitFile(keyTmp, keyFile);
  }
  return { file: out, keyFile, bytes: statSync(out).size, migrations: migrations.length };
}

/** Where backups go unless a file is named: `<data dir>/backups` (beside the db folder). */
export function defaultBackupDir(dbDir: string): string {
  return join(dirname(dbDir), 'backups');
}

export interface BackupReport {
  file: string;
  bytes: number;
  migrations: number;
  /** Rows per table (FTS shadow tables and SQLite's own left out). */
  rows: Record<string, number>;
  key: { file: string; ok: boolean; detail: string } | null;
}

/**
 * `earshot backup verify FILE`: the file opens, passes integrity_check, is an Earshot database
 * this version understands; counts the rows of every table; and checks the server key beside it
 * (FILE.key: present, a 32-byte key, readable by its owner only). Throws BackupError when the
 * database is unusable; a key problem is reported in `key` (a backup without it still restores,
 * but signed-in sessions and app passwords do not survive).
 */
export function verifyBackup(file: string): BackupReport {
  const { migrations } = verifyDatabaseFile(file);
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  const rows: Record<string, number> = {};
  try {
    const tables = db
      .prepare(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and sql not like 'create virtual table%' collate nocase order by name",
      )
      .all() as { name: string }[];
    const shadow = new Set(
      (
        db
          .prepare("select name from sqlite_master where type = 'table' and sql like 'create virtual table%'")
          .all() as {
          name: string;
        }[]
      ).flatMap((v) => ['data', 'idx', 'content', 'docsize', 'config'].map((s) => `${v.name}_${s}`)),
    );
    for (const { name } of tables) {
      if (shadow.has(name)) continue;
      rows[name] = (db.prepare(`select count(*) as n from "${name.replace(/"/g, '""')}"`).get() as { n: number }).n;
    }
  } finally {
    db.close();
  }
  return { file, bytes: statSync(file).size, migrations: migrations.length, rows, key: checkKeyFile(`${file}.key`) };
}

function checkKeyFile(file: string): BackupReport['key'] {
  if (!existsSync(file)) return null;
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
  if (key.length < 32) return { file, ok: false, detail: `holds ${key.length} bytes, not a 32-byte server key` };
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077)
    return { file, ok: false, detail: `is readable by others (mode ${mode.toString(8)}); chmod 600 it` };
  return { file, ok: true, detail: 'a 32-byte server key, private (mode 600)' };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of a server running on this database, if any. */
export function runningServerPid(dbDir: string): number | null {
  const file = join(dbDir, PID_FILE);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid) ? pid : null;
}

export async function restoreDatabase(options: {
  from: string;
  dbFile: string;
  dbDir: string;
}): Promise<{ previous: string | null }> {
  const pid = runningServerPid(options.dbDir);
  if (pid) throw new BackupError(`Earshot is running (pid ${pid}) on this database. Stop it first, then restore.`);
  verifyDatabaseFile(options.from);
  mkdirSync(options.dbDir, { recursive: true });
  const tmp = tempPathFor(options.dbFile);
  copyFileSync(options.from, tmp);
  // Keep the replaced database beside it, in case the restore was a mistake.
  let previous: string | null = null;
  if (existsSync(options.dbFile)) {
    previous = `${options.dbFile}.before-restore-${stamp(new Date())}`;
    renameSync(options.dbFile, previous);
  }
  for (const suffix of ['-wal', '-shm']) rmSync(`${options.dbFile}${suffix}`, { force: true });
  await commitFile(tmp, options.dbFile);
  const keyBackup = `${options.from}.key`;
  if (existsSync(keyBackup)) {
    const keyFile = join(options.dbDir, SERVER_KEY_FILE);
    const keyTmp = tempPathFor(keyFile);
    copyFileSync(keyBackup, keyTmp);
    await commitFile(keyTmp, keyFile);
  }
  return { previous: previous ? basename(previous) : null };
}
