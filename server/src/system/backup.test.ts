/**
 * `earshot backup` / `restore` on each engine. The backup and restore functions themselves copy a
 * SQLite file with SQLite's online backup API, so their tests are about SQLite alone; the last
 * block runs the built CLI on both engines: on PostgreSQL it must refuse (naming pg_dump, the
 * password masked) and write nothing, never back up a SQLite file that is not the database served.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { loadOrCreateServerKey } from '../shared/server-key.js';
import { CLI_BIN } from '../test/build.js';
import { forEachServerEngine } from '../test/engines.js';
import { startTestServer } from '../test/harness.js';
import { findPgBin } from '../test/postgres.js';
import {
  BackupError,
  backupDatabase,
  PID_FILE,
  restoreDatabase,
  verifyDatabaseFile,
  verifyDatabaseFileOffThread,
} from './backup.js';

let root: string;
let dbDir: string;
let dbFile: string;

async function seed(username: string) {
  const opened = openDatabase(dbFile);
  await migrateToLatest(opened.db);
  const now = Date.now();
  await opened.db
    .insertInto('users')
    .values({
      id: username,
      username,
      username_key: username,
      password_hash: null,
      role: 'admin',
      email: null,
      display_name: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return opened;
}

function usernames(file: string): string[] {
  const db = new SQLite(file, { readonly: true });
  const rows = db.prepare('select username from users order by username').all() as { username: string }[];
  db.close();
  return rows.map((r) => r.username);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'earshot-backup-'));
  dbDir = join(root, 'db');
  dbFile = join(dbDir, 'earshot.db');
});

describe('backup and restore', () => {
  it('backs up a live database (open, with un-checkpointed WAL) into a verified file with the key', async () => {
    const live = await seed('alice');
    loadOrCreateServerKey(dbDir);
    const result = await backupDatabase({ dbFile, dbDir, out: join(root, 'b', 'one.db') });
    expect(result.file).toBe(join(root, 'b', 'one.db'));
    expect(usernames(result.file)).toEqual(['alice']);
    expect(readFileSync(result.keyFile!, 'utf8')).toBe(readFileSync(join(dbDir, 'server.key'), 'utf8'));
    // No temp file is left beside it.
    expect(existsSync(join(root, 'b'))).toBe(true);
    await live.close();
  });

  it('defaults to a timestamped file under <data>/backups', async () => {
    (await seed('bob')).close();
    const result = await backupDatabase({ dbFile, dbDir, now: new Date('2026-01-02T03:04:05Z') });
    expect(result.file).toBe(join(root, 'backups', 'earshot-20260102-030405Z.db'));
  });

  it('restores a backup, keeping the replaced database beside it', async () => {
    const live = await seed('alice');
    const { file } = await backupDatabase({ dbFile, dbDir, out: join(root, 'snap.db') });
    await live.db
      .insertInto('users')
      .values({
        id: 'x',
        username: 'mallory',
        username_key: 'mallory',
        password_hash: null,
        role: 'user',
        email: null,
        display_name: null,
        created_at: 1,
        updated_at: 1,
      })
      .execute();
    await live.close();
    const r = await restoreDatabase({ from: file, dbFile, dbDir });
    expect(usernames(dbFile)).toEqual(['alice']);
    expect(r.previous).toMatch(/^earshot\.db\.before-restore-/);
    expect(usernames(join(dbDir, r.previous!))).toEqual(['alice', 'mallory']);
  });

  it('refuses a damaged backup and leaves the current database untouched', async () => {
    (await seed('alice')).close();
    const { file } = await backupDatabase({ dbFile, dbDir, out: join(root, 'snap.db') });
    const bytes = readFileSync(file);
    // Corrupt the b-tree page headers after the first page (not the file header), as a bad SD card would.
    for (let page = 4096; page < bytes.length; page += 4096) bytes.fill(0x2a, page, page + 12);
    writeFileSync(join(root, 'damaged.db'), bytes);
    writeFileSync(join(root, 'text.db'), 'this is not a database');
    await expect(restoreDatabase({ from: join(root, 'damaged.db'), dbFile, dbDir })).rejects.toThrow(BackupError);
    await expect(restoreDatabase({ from: join(root, 'text.db'), dbFile, dbDir })).rejects.toThrow(
      /not a readable SQLite database/,
    );
    await expect(restoreDatabase({ from: join(root, 'missing.db'), dbFile, dbDir })).rejects.toThrow(/does not exist/);
    expect(usernames(dbFile)).toEqual(['alice']);
  });

  it('refuses a SQLite file that is not an Earshot database', async () => {
    (await seed('alice')).close();
    const other = new SQLite(join(root, 'other.db'));
    other.exec('create table notes (x text)');
    other.close();
    await expect(restoreDatabase({ from: join(root, 'other.db'), dbFile, dbDir })).rejects.toThrow(
      /not an Earshot database/,
    );
  });

  it('checks a backup on its own thread, with the same verdicts, while the event loop keeps turning', async () => {
    const opened = await seed('alice');
    // A few MB of rows, so the page-by-page check is real work (it took seconds at 50,000 tracks).
    opened.sqlite.exec(
      'create table filler (b blob); with recursive n(i) as (select 1 union all select i + 1 from n where i < 1500) insert into filler select randomblob(1000) from n',
    );
    opened.close();
    const { file } = await backupDatabase({ dbFile, dbDir, out: join(root, 'snap.db') });
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const checked = await verifyDatabaseFileOffThread(file);
    spinning = false;
    // A check on the main thread would return before a single turn.
    expect(turns).toBeGreaterThan(0);
    expect(checked).toEqual(verifyDatabaseFile(file));

    const bytes = readFileSync(file);
    for (let page = 4096; page < bytes.length; page += 4096) bytes.fill(0x2a, page, page + 12);
    writeFileSync(join(root, 'damaged.db'), bytes);
    const other = new SQLite(join(root, 'other.db'));
    other.exec('create table notes (x text)');
    other.close();
    for (const name of ['damaged.db', 'other.db']) {
      const path = join(root, name);
      const onMain = (() => {
        try {
          verifyDatabaseFile(path);
          return 'accepted';
        } catch (err) {
          return (err as Error).message;
        }
      })();
      const offThread = await verifyDatabaseFileOffThread(path).then(
        () => 'accepted',
        (err: Error) => (err instanceof BackupError ? err.message : `not a BackupError: ${err.message}`),
      );
      expect(offThread, name).toBe(onMain);
    }
  });

  it('refuses to restore under a running server', async () => {
    (await seed('alice')).close();
    const { file } = await backupDatabase({ dbFile, dbDir, out: join(root, 'snap.db') });
    const server = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(join(dbDir, PID_FILE), String(server.pid));
      await expect(restoreDatabase({ from: file, dbFile, dbDir })).rejects.toThrow(/is running \(pid/);
    } finally {
      server.kill();
    }
  });
});

/** The built CLI as users run it, with the server's settings (its data folder, its database). */
function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [CLI_BIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, EARSHOT_LOG_LEVEL: 'silent', ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

forEachServerEngine((engine) => {
  describe('earshot backup and restore (the built CLI) next to a served database', () => {
    it(
      engine === 'sqlite'
        ? 'backs the served SQLite database up and verifies it'
        : 'refuses on PostgreSQL, naming pg_dump with the password masked, and writes nothing',
      async () => {
        const t = await startTestServer();
        try {
          await t.createUser({ username: 'alice' });
          const backups = join(t.dir, 'backups');
          if (engine === 'sqlite') {
            const r = cli(['backup'], { EARSHOT_DATA_DIR: t.dir });
            expect(r.code, r.err).toBe(0);
            const [file] = readdirSync(backups).filter((n) => n.endsWith('.db'));
            expect(usernames(join(backups, file))).toEqual(['alice']);
            return;
          }
          // A SQLite file left in the data folder from before the move to PostgreSQL (migrate-db):
          // backing it up would look like success and hold none of today's accounts.
          const stale = join(t.dir, 'db', 'earshot.db');
          dbFile = stale;
          (await seed('before-the-move')).close();
          const staleBytes = readFileSync(stale);
          const url = new URL(t.config.databaseUrl ?? '');
          url.password = 'hunter2-secret'; // the test cluster trusts loopback: any password connects
          const env = { EARSHOT_DATA_DIR: t.dir, EARSHOT_DATABASE_URL: url.toString() };

          const backup = cli(['backup'], env);
          expect(backup.code).toBe(78);
          expect(backup.err).toContain('The database is PostgreSQL');
          expect(backup.err).toContain('pg_dump --format=custom');
          expect(backup.err).toContain(':***@');
          expect(backup.err + backup.out).not.toContain('hunter2-secret');
          expect(existsSync(backups)).toBe(false);

          const snap = join(root, 'snap.db');
          writeFileSync(snap, staleBytes);
          const restore = cli(['restore', snap], env);
          expect(restore.code).toBe(78);
          expect(restore.err).toContain('pg_restore');
          expect(readFileSync(stale).equals(staleBytes)).toBe(true);

          // The documented route works: pg_dump of the served database holds its accounts.
          const bin = findPgBin();
          if (!bin) return;
          const dump = join(root, 'earshot.pgdump');
          const dumped = spawnSync(join(bin, 'pg_dump'), ['--format=custom', `--file=${dump}`, t.config.databaseUrl!], {
            encoding: 'utf8',
          });
          expect(dumped.status, dumped.stderr).toBe(0);
          expect(statSync(dump).size).toBeGreaterThan(0);
          const listed = spawnSync(join(bin, 'pg_restore'), ['--list', dump], { encoding: 'utf8' });
          expect(listed.stdout).toMatch(/TABLE DATA public users /);
        } finally {
          await t.close();
        }
      },
    );
  });
});
