/**
 * Database backup and restore (SECURITY.md "Reliability"): backups use SQLite's online backup API
 * into a temp file beside the target, are verified with `integrity_check`, fsynced and renamed —
 * so a backup file that exists is complete. Restore refuses a damaged or foreign file, refuses
 * while a server is running on the database, and swaps the file in atomically.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import SQLite from 'better-sqlite3';
import { MIGRATIONS } from '../db/migrate.js';
import { commitFile, tempPathFor } from '../shared/atomic-file.js';
import { SERVER_KEY_FILE } from '../shared/server-key.js';

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

export async function backupDatabase(options: {
  dbFile: string;
  dbDir: string;
  out?: string;
  now?: Date;
}): Promise<BackupResult> {
  if (!existsSync(options.dbFile)) throw new BackupError(`There is no database at ${options.dbFile} yet.`);
  const out = options.out ?? join(dirname(options.dbDir), 'backups', `earshot-${stamp(options.now ?? new Date())}.db`);
  mkdirSync(dirname(out), { recursive: true });
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
    migrations = verifyDatabaseFile(tmp).migrations;
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
    await commitFile(keyTmp, keyFile);
  }
  return { file: out, keyFile, bytes: statSync(out).size, migrations: migrations.length };
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
