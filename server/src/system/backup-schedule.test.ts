/**
 * Scheduled backups, the restore drill and `earshot backup verify`: SQLite only, by subject. They
 * copy and check the SQLite file (online backup API, integrity_check); on PostgreSQL main.ts starts
 * no schedule and `earshot backup` refuses, naming pg_dump (tested in backup.test.ts on both engines).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Lifecycle } from '../shared/lifecycle.js';
import { CLI_BIN } from '../test/build.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { defaultBackupDir, restoreDatabase, verifyBackup } from './backup.js';
import { pruneBackups, runScheduledBackup, scheduledBackups, startBackupSchedule } from './backup-schedule.js';

const logger = pino({ level: 'silent' });
const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

describe('restore drill: back up while writing, restore elsewhere, find every acknowledged write', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('every playlist acknowledged before the backup started is on the restored server', async () => {
    const t = await startTestServer();
    servers.push(t);
    const alice = await t.createUser({ username: 'alice' });
    const headers = await t.authHeaders(alice);
    const acked: { name: string; at: number }[] = [];
    let stop = false;
    let warm!: () => void;
    const warmed = new Promise<void>((resolve) => {
      warm = resolve;
    });
    const writer = (async () => {
      for (let i = 0; !stop && i < 400; i++) {
        const name = `drill-${i}`;
        const res = await t.app.inject({ method: 'POST', url: '/api/v1/playlists', headers, payload: { name } });
        expect(res.statusCode, res.body).toBe(201);
        acked.push({ name, at: performance.now() });
        if (acked.length === 25) warm();
      }
      warm();
    })();
    await warmed;
    const backupStarted = performance.now();
    const ok = await runScheduledBackup({ paths: t.earshot.paths, keep: 3, logger });
    stop = true;
    await writer;
    expect(ok).toBe(true);
    const before = acked.filter((a) => a.at < backupStarted).map((a) => a.name);
    expect(before.length).toBeGreaterThanOrEqual(25);

    const dir = defaultBackupDir(t.earshot.paths.dbDir);
    const [file] = scheduledBackups(dir);
    expect(file).toMatch(/^earshot-auto-\d{8}-\d{6}Z\.db$/);
    const path = join(dir, file);
    // Private: the database holds password hashes, the key signs every session.
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}.key`).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o077).toBe(0);
    const report = verifyBackup(path);
    expect(report.key?.ok).toBe(true);
    expect(report.rows.playlists).toBeGreaterThanOrEqual(before.length);
    expect(report.rows.users).toBe(1);

    // A new data dir, restored from the file, served by a new server.
    const fresh = mkdtempSync(join(tmpdir(), 'earshot-restored-'));
    await restoreDatabase({ from: path, dbFile: join(fresh, 'db', 'earshot.db'), dbDir: join(fresh, 'db') });
    const restored = await startTestServer({ dir: fresh });
    servers.push(restored);
    cleanup.push(fresh);
    // The old session cookie still works: the server key came back with the database.
    const res = await restored.app.inject({ url: '/api/v1/playlists?limit=500', headers });
    expect(res.statusCode, res.body).toBe(200);
    const names = new Set((res.json().items as { name: string }[]).map((p) => p.name));
    expect(before.filter((n) => !names.has(n))).toEqual([]);
    // Nothing appears that was never acknowledged (or in flight).
    const known = new Set(acked.map((a) => a.name));
    expect([...names].filter((n) => !known.has(n) && !/^drill-\d+$/.test(n))).toEqual([]);
  });
});

describe('scheduled backups', () => {
  it('runs at once when none exists, then not before one interval after the newest', async () => {
    const t = await startTestServer();
    const dir = defaultBackupDir(t.earshot.paths.dbDir);
    // Left by a backup that was killed mid-way.
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '.earshot-auto-20260101-000000Z.db.0a1b2c3d.part'), 'half');
    const lifecycle = new Lifecycle();
    let ran!: (ok: boolean) => void;
    const first = new Promise<boolean>((resolve) => {
      ran = resolve;
    });
    const schedule = startBackupSchedule({
      config: { backupIntervalHours: 24, backupKeep: 2 },
      paths: t.earshot.paths,
      logger,
      lifecycle,
      onRun: (ok) => ran(ok),
    });
    expect(await first).toBe(true);
    expect(scheduledBackups(dir)).toHaveLength(1);
    expect(readdirSync(dir).filter((n) => n.endsWith('.part'))).toEqual([]);
    const due = schedule.dueAt() - Date.now();
    expect(due).toBeGreaterThan(23.9 * 3_600_000);
    expect(due).toBeLessThanOrEqual(24 * 3_600_000);
    // An old newest backup (the server was off for two days) makes the next one due now.
    const newest = join(dir, scheduledBackups(dir)[0]);
    const twoDaysAgo = (Date.now() - 48 * 3_600_000) / 1000;
    utimesSync(newest, twoDaysAgo, twoDaysAgo);
    expect(schedule.dueAt()).toBeLessThanOrEqual(Date.now());
    await lifecycle.stop();
    await t.close();
  });

  it('keeps the newest N scheduled backups and their keys, never hand-made ones', async () => {
    const t = await startTestServer();
    const dir = defaultBackupDir(t.earshot.paths.dbDir);
    for (const [i, stamp] of ['20260101-000000Z', '20260102-000000Z', '20260103-000000Z'].entries()) {
      const at = new Date(`2026-01-0${i + 1}T00:00:00Z`);
      expect(await runScheduledBackup({ paths: t.earshot.paths, keep: 10, logger, now: at })).toBe(true);
      expect(scheduledBackups(dir).at(-1)).toBe(`earshot-auto-${stamp}.db`);
    }
    writeFileSync(join(dir, 'earshot-20250101-000000Z.db'), 'hand-made');
    expect(pruneBackups(dir, 2)).toEqual(['earshot-auto-20260101-000000Z.db']);
    expect(scheduledBackups(dir)).toEqual(['earshot-auto-20260102-000000Z.db', 'earshot-auto-20260103-000000Z.db']);
    expect(() => statSync(join(dir, 'earshot-auto-20260101-000000Z.db.key'))).toThrow();
    expect(readFileSync(join(dir, 'earshot-20250101-000000Z.db'), 'utf8')).toBe('hand-made');
    await t.close();
  });
});

describe('earshot backup verify FILE (the built CLI)', () => {
  it('prints row counts and the key check; exits 1 on a damaged file or a key others can read', async () => {
    const t = await startTestServer();
    await t.createUser({ username: 'bob' });
    await runScheduledBackup({ paths: t.earshot.paths, keep: 3, logger });
    const dir = defaultBackupDir(t.earshot.paths.dbDir);
    const file = join(dir, scheduledBackups(dir)[0]);
    const out = execFileSync(process.execPath, [CLI_BIN, 'backup', 'verify', file], { encoding: 'utf8' });
    expect(out).toContain('integrity ok');
    expect(out).toMatch(/users\s+1\n/);
    expect(out).toContain('a 32-byte server key, private (mode 600)');

    const damaged = join(dir, 'damaged.db');
    const bytes = readFileSync(file);
    bytes.fill(0x5a, 4096, Math.min(bytes.length, 4096 * 3));
    writeFileSync(damaged, bytes);
    const bad = spawnSync(process.execPath, [CLI_BIN, 'backup', 'verify', damaged], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/Backup unusable/);

    const leaky = join(dir, 'leaky.db');
    copyFileSync(file, leaky);
    copyFileSync(`${file}.key`, `${leaky}.key`);
    execFileSync('chmod', ['644', `${leaky}.key`]);
    const leak = spawnSync(process.execPath, [CLI_BIN, 'backup', 'verify', leaky], { encoding: 'utf8' });
    expect(leak.status).toBe(1);
    expect(leak.stdout).toMatch(/readable by others/);
    await t.close();
  });
});
