/**
 * SECURITY.md 27 and "Reliability": `kill -9` of the real server binary in the middle of an
 * offline-playlist download. After the restart no file exists under a final name until the resumed
 * job has completed it, the row was never marked cached by the dead process, and the job finishes.
 * A job the server died in `max_attempts` times is given up (a download that kills the server
 * must not loop at every start) and can be asked for again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../shared/ids.js';
import { makeAudio } from '../test/audio.js';
import { CLI_BIN } from '../test/build.js';
import { startTestServer } from '../test/harness.js';
import { type Origin, startOrigin } from '../test/origin.js';

let dir: string;
let origin: Origin;
const children: ChildProcess[] = [];

function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Starts `earshot serve` as a child process; resolves with a function waiting for a log message. */
function serve(dataDir = dir): {
  child: ChildProcess;
  waitForLog: (pattern: RegExp) => Promise<Record<string, unknown>>;
} {
  const child = spawn(process.execPath, [CLI_BIN, 'serve'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      EARSHOT_DATA_DIR: dataDir,
      EARSHOT_PORT: '0',
      EARSHOT_LOG_FORMAT: 'json',
      EARSHOT_LOG_LEVEL: 'info',
      EARSHOT_SCAN_ON_START: 'false',
      EARSHOT_WATCH: 'false',
      EARSHOT_FULL_SCAN_INTERVAL_MINUTES: '0',
      EARSHOT_SOURCES_YOUTUBE: 'false',
      EARSHOT_SOURCES_SOUNDCLOUD: 'false',
      EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  const waiters: { pattern: RegExp; resolve: (l: Record<string, unknown>) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    lines.push(parsed);
    for (const w of [...waiters]) {
      if (w.pattern.test(String(parsed.msg))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed);
      }
    }
  });
  return {
    child,
    waitForLog: (pattern) => {
      const seen = lines.find((l) => pattern.test(String(l.msg)));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        child.once('exit', (code) => reject(new Error(`server exited (${code}) before logging ${pattern}`)));
      });
    },
  };
}

function partAppears(root: string): Promise<string> {
  return new Promise((resolve) => {
    const existing = filesUnder(root).find((f) => f.endsWith('.part'));
    if (existing) return resolve(existing);
    const watcher = watch(root, { recursive: true }, () => {
      const part = filesUnder(root).find((f) => f.endsWith('.part'));
      if (part) {
        watcher.close();
        resolve(part);
      }
    });
  });
}

/**
 * The state both tests start from, made with an in-process server that is closed again: an admin,
 * the remote track at `url`, and an offline playlist holding it, so its cache job is queued.
 */
async function queueOfflineJob(
  dataDir: string,
  url: string,
  options: { maxAttempts?: number } = {},
): Promise<{ trackId: string; playlistId: string; adminId: string }> {
  process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES = '1';
  const t = await startTestServer({ dir: dataDir });
  delete process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES;
  try {
    const admin = await t.createUser({ username: 'admin', role: 'admin' });
    const add = await t.app.inject({
      method: 'POST',
      url: '/api/v1/remote/tracks',
      headers: await t.authHeaders(admin),
      payload: { url },
    });
    expect(add.statusCode, add.body).toBe(201);
    const trackId: string = add.json().id;
    const playlistId = newId();
    const now = Date.now();
    const { db } = t.earshot.database;
    await db
      .insertInto('playlists')
      .values({ id: playlistId, owner_id: admin.id, name: 'Offline', is_offline: 1, created_at: now, updated_at: now })
      .execute();
    await db
      .insertInto('playlist_tracks')
      .values({ id: newId(), playlist_id: playlistId, position: 0, track_id: trackId, title: 'remote', added_at: now })
      .execute();
    t.earshot.events.emit('playlist.offlineChanged', { playlistId, ownerId: admin.id, isOffline: true });
    await t.earshot.sources.offline.flush();
    if (options.maxAttempts !== undefined)
      await db.updateTable('jobs').set({ max_attempts: options.maxAttempts }).execute();
    return { trackId, playlistId, adminId: admin.id };
  } finally {
    await t.close();
  }
}

/** Signals a served process and resolves once it has exited. */
function stop(server: { child: ChildProcess }, signal: NodeJS.Signals): Promise<unknown> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill(signal);
  return exited;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-crash-'));
  origin = await startOrigin();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await origin?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SECURITY 27: kill -9 during a remote download', () => {
  it('leaves no file under a final name and the offline job resumes and completes after restart', async () => {
    const songPath = await makeAudio(join(dir, 'fixtures', 'long.mp3'), { seconds: 6, tags: { title: 'Survivor' } });
    const song = readFileSync(songPath);
    const url = origin.set('/long.mp3', { kind: 'file', path: songPath });

    const { trackId } = await queueOfflineJob(dir, url);

    // The real server picks the job up; the origin dribbles so the download is still running when killed.
    origin.set('/long.mp3', { kind: 'slow', path: songPath, chunk: 1024, everyMs: 100 });
    const cacheUrlDir = join(dir, 'cache', 'url');
    const first = serve();
    await first.waitForLog(/caching remote track/);
    const part = await partAppears(join(dir, 'cache'));
    expect(part).toMatch(/\.mp3\.part$/);
    await stop(first, 'SIGKILL');

    // Dead mid-download: only the part exists; nothing under a final name; the row is not cached.
    const afterKill = filesUnder(cacheUrlDir);
    expect(afterKill.filter((f) => !f.endsWith('.part'))).toEqual([]);
    const db = new SQLite(join(dir, 'db', 'earshot.db'), { readonly: true });
    expect(db.prepare('select is_cached, local_path from tracks where id = ?').get(trackId)).toEqual({
      is_cached: 0,
      local_path: null,
    });
    expect(db.prepare('select state from jobs where dedupe_key = ?').get(trackId)).toEqual({ state: 'running' });
    db.close();

    // Restart: leftovers are removed at start-up, the interrupted job is queued again and completes.
    origin.set('/long.mp3', { kind: 'file', path: songPath });
    const second = serve();
    const cleaned = await second.waitForLog(/cleaned up after an interrupted download/);
    expect(cleaned.partsRemoved).toBe(1);
    await second.waitForLog(/resuming jobs interrupted by a restart/);
    await second.waitForLog(/remote track cached/);
    await stop(second, 'SIGTERM');

    const files = filesUnder(cacheUrlDir);
    expect(files.filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(files).toHaveLength(1);
    expect(readFileSync(files[0]).equals(song)).toBe(true);
    const check = new SQLite(join(dir, 'db', 'earshot.db'), { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(check.prepare('select is_cached from tracks where id = ?').get(trackId)).toEqual({ is_cached: 1 });
    expect(check.prepare('select state, attempts from jobs where dedupe_key = ?').get(trackId)).toEqual({
      state: 'done',
      attempts: 2,
    });
    check.close();
  }, 90_000);

  it('gives up a job the server died in max_attempts times, and queues it again when asked', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'earshot-crash-loop-'));
    try {
      const songPath = await makeAudio(join(dataDir, 'fixtures', 'killer.mp3'), {
        seconds: 4,
        tags: { title: 'Killer' },
      });
      const url = origin.set('/killer.mp3', { kind: 'slow', path: songPath, chunk: 1024, everyMs: 100 });
      // Two attempts keep the test short; the default is five.
      const { trackId, playlistId, adminId } = await queueOfflineJob(dataDir, url, { maxAttempts: 2 });

      // The server dies during the download, twice (as if the download itself killed it).
      for (let kill = 1; kill <= 2; kill++) {
        const server = serve(dataDir);
        await server.waitForLog(/caching remote track/);
        await stop(server, 'SIGKILL');
      }
      const jobsOf = () => {
        const db = new SQLite(join(dataDir, 'db', 'earshot.db'), { readonly: true });
        try {
          return db
            .prepare('select state, attempts, last_error from jobs where dedupe_key = ? order by created_at')
            .all(trackId) as { state: string; attempts: number; last_error: string | null }[];
        } finally {
          db.close();
        }
      };
      expect(jobsOf()).toMatchObject([{ state: 'running', attempts: 2 }]);

      // Third start: the job is failed with a clear error, not claimed again; the start-up
      // reconcile does not queue the track again either. The server is up (listening) by then.
      const third = serve(dataDir);
      const gaveUp = await third.waitForLog(/gave up on jobs interrupted by a restart/);
      expect(gaveUp.failed).toBe(1);
      await third.waitForLog(/Server listening/);
      await stop(third, 'SIGTERM');
      const jobs = jobsOf();
      expect(jobs).toHaveLength(1);
      expect(jobs[0]).toMatchObject({ state: 'failed', attempts: 2 });
      expect(jobs[0].last_error).toMatch(/^The server stopped while this job ran, 2 times \(max attempts\)/);

      // Asked again (the playlist marked offline again): a fresh job is queued.
      const again = await startTestServer({ dir: dataDir });
      again.earshot.events.emit('playlist.offlineChanged', { playlistId, ownerId: adminId, isOffline: true });
      await again.earshot.sources.offline.flush();
      await again.close();
      expect(jobsOf().map((j) => [j.state, j.attempts])).toEqual([
        ['failed', 2],
        ['queued', 0],
      ]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
