/**
 * "One download per remote track" across replicas, through the track locks (cluster/track-locks.ts)
 * the download hub takes.
 *
 * First, two hubs on one SQLite database and one cache folder, sharing the lock table the way
 * replicas share PostgreSQL's advisory locks: replica A is the real app (HTTP `/stream`), replica B
 * a second hub over the same database, yt-dlp runner and cache folder. A waiter whose bytes nobody
 * took yet (an offline job) downloads afresh when the holder stops.
 *
 * Then two real `earshot serve` processes on one PostgreSQL and one data folder, real yt-dlp against
 * a loopback origin that trickles the file: a listener on the waiting replica gets the holder's
 * bytes while the download still runs (its growing part file, followed across processes), with the
 * same Range answers as the holder's own listeners; `kill -9` of the holder mid-way ends the
 * waiter's response with an error, and the next play completes the track.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeAudio } from '../../test/audio.js';
import { startTestServer, type TestServer } from '../../test/harness.js';
import { type Origin, startOrigin } from '../../test/origin.js';
import { createTestDatabase } from '../../test/postgres.js';
import { ReplicaSet, signIn } from '../../test/replica-process.js';
import { DOWNLOAD_LIMITS } from '../module.js';
import { RemoteTracksRepository } from '../remote-tracks.repository.js';
import { DownloadHub } from './download-hub.js';
import { DownloadFailed } from './remote-download.js';

let t: TestServer;
let origin: Origin;
let base: string;
let headers: Record<string, string>;
let song: Buffer;
let songPath: string;
let repo: RemoteTracksRepository;
let replicaB: DownloadHub;

function partsUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.part'))
    .map((e) => join(e.parentPath, e.name));
}

async function addUrl(url: string): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/remote/tracks', headers, payload: { url } });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: string }).id;
}

beforeAll(async () => {
  process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES = '1';
  origin = await startOrigin();
  t = await startTestServer();
  delete process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES;
  base = await t.listen();
  headers = await t.authHeaders(await t.createUser({ username: 'admin', role: 'admin' }));
  songPath = await makeAudio(join(t.dir, 'fixtures', 'song.mp3'), { seconds: 4, tags: { title: 'Shared' } });
  song = readFileSync(songPath);
  repo = new RemoteTracksRepository(t.earshot.database.db);
  const { sources } = t.earshot;
  replicaB = new DownloadHub({
    cacheDir: t.config.cacheDir,
    runner: sources.runner, // counts every yt-dlp process of both replicas
    registry: sources.registry,
    repo,
    events: t.earshot.events,
    clock: t.earshot.clock,
    logger: t.earshot.logger,
    policy: sources.policy,
    maxBytes: DOWNLOAD_LIMITS.maxBytes,
    timeoutMs: DOWNLOAD_LIMITS.timeoutMs,
    idleGraceMs: DOWNLOAD_LIMITS.idleGraceMs,
    maxListenerDownloads: DOWNLOAD_LIMITS.maxListenerDownloads,
    maxDownloadsPerUser: DOWNLOAD_LIMITS.maxDownloadsPerUser,
    trackLocks: t.earshot.cluster.trackLocks, // the lock table replica A's hub uses
  });
});

afterAll(async () => {
  await replicaB?.stop();
  await t?.close();
  await origin?.close();
});

describe('one download per remote track across replicas', () => {
  it('concurrent plays through two replicas make one origin download; the waiting one serves the finished file', async () => {
    const path = '/shared-by-replicas.mp3';
    const id = await addUrl(origin.set(path, { kind: 'slow', path: songPath, chunk: 8192, everyMs: 15 }));
    const row = await repo.findById(id);
    if (!row) throw new Error('no row');
    const processes = t.earshot.sources.runner.started.audio;
    const hitsBefore = origin.hits(path);

    // A listener on replica A and an offline job on replica B ask at the same time.
    const [listened, onB] = await Promise.all([
      fetch(`${base}/stream/${id}`, { headers }).then(async (r) => ({
        status: r.status,
        body: Buffer.from(await r.arrayBuffer()),
      })),
      (async () => {
        const dl = replicaB.join(row, { kind: 'job', userId: null });
        const release = dl.hold();
        try {
          await dl.finished;
          return dl;
        } finally {
          release();
        }
      })(),
    ]);
    expect(listened.status).toBe(200);
    expect(listened.body.equals(song)).toBe(true);
    // One yt-dlp process and one download request at the origin between the two replicas
    // (yt-dlp's generic extractor probes the URL once before downloading: two hits per download).
    expect(t.earshot.sources.runner.started.audio - processes).toBe(1);
    expect(origin.hits(path) - hitsBefore).toBeLessThanOrEqual(2);

    const cached = await repo.findById(id);
    expect(cached).toMatchObject({ is_cached: 1 });
    expect(onB.state).toBe('done');
    expect(onB.location?.relative).toBe(cached?.local_path);
    expect(readFileSync(join(t.config.cacheDir, cached?.local_path ?? '')).equals(song)).toBe(true);
    expect(partsUnder(t.config.cacheDir)).toEqual([]);
  });

  it('when the holder stops mid-download, the waiting replica downloads afresh; no part file is left', async () => {
    const path = '/holder-dies.mp3';
    const id = await addUrl(origin.set(path, { kind: 'slow', path: songPath, chunk: 4096, everyMs: 20 }));
    const row = await repo.findById(id);
    if (!row) throw new Error('no row');
    const processes = t.earshot.sources.runner.started.audio;

    // Replica A holds the lock and is writing its part file.
    const onA = t.earshot.sources.hub.join(row, { kind: 'job', userId: null });
    const releaseA = onA.hold();
    await onA.firstData();
    expect(partsUnder(t.config.cacheDir)).toHaveLength(1);
    // Replica B asks while A holds the lock: it waits (no yt-dlp of its own yet).
    const onB = replicaB.join(row, { kind: 'job', userId: null });
    const releaseB = onB.hold();
    expect(onB.written).toBe(0);

    // A's download ends without a file (what a killed replica leaves: PostgreSQL frees its lock).
    onA.cancel(new DownloadFailed('replica A went away', true));
    await expect(onA.finished).rejects.toThrow('replica A went away');
    releaseA();

    await onB.finished;
    releaseB();
    expect(t.earshot.sources.runner.started.audio - processes).toBe(2);
    const cached = await repo.findById(id);
    expect(cached).toMatchObject({ is_cached: 1, size: song.length });
    expect(onB.location?.relative).toBe(cached?.local_path);
    expect(readFileSync(join(t.config.cacheDir, cached?.local_path ?? '')).equals(song)).toBe(true);
    expect(partsUnder(t.config.cacheDir)).toEqual([]);
  });
});

const database = await createTestDatabase({ url: inject('pgUrl'), skipReason: inject('pgSkipReason') }, 'follow');
const data = mkdtempSync(join(tmpdir(), 'earshot-follow-'));
const replicas = database ? new ReplicaSet(data, database.url) : null;
afterAll(async () => {
  replicas?.killAll();
  await database?.drop();
  rmSync(data, { recursive: true, force: true });
});

/** Reads a response body chunk by chunk; `first` resolves with the first chunk. */
function drain(res: Response): { first: Promise<Buffer>; all: Promise<Buffer> } {
  const reader = res.body?.getReader();
  if (!reader) throw new Error('no body');
  let gotFirst!: (b: Buffer) => void;
  const first = new Promise<Buffer>((resolve) => {
    gotFirst = resolve;
  });
  const all = (async () => {
    const chunks: Buffer[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return Buffer.concat(chunks);
      chunks.push(Buffer.from(value));
      if (chunks.length === 1) gotFirst(chunks[0]);
    }
  })();
  all.catch(() => {});
  return { first, all };
}

describe.skipIf(!database)('a waiting replica streams the growing file (two processes on PostgreSQL)', () => {
  it('its listener gets bytes before the download ends, identical to the origin; kill -9 of the holder cuts it, the next play completes', async () => {
    if (!replicas) return;
    const fixture = join(data, 'fixtures', 'trickle.mp3');
    const trickled = readFileSync(await makeAudio(fixture, { seconds: 8, tags: { title: 'Trickle' } }));
    const from = await startOrigin();
    try {
      replicas.addUser('carol', 'carol-password-1');
      const env = { EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES: '1', EARSHOT_YTDLP: '/usr/bin/yt-dlp' };
      const a = await replicas.start('holder-a', env);
      const b = await replicas.start('waiter-b', env);
      const cookie = await signIn(a, 'carol', 'carol-password-1');
      const get = (r: { url: string }, path: string, extra: Record<string, string> = {}) =>
        fetch(`${r.url}${path}`, { headers: { cookie, ...extra } });
      const addRemote = async (path: string) => {
        const url = from.set(path, { kind: 'slow', path: fixture, chunk: 1024, everyMs: 40 });
        const res = await fetch(`${a.url}/api/v1/remote/tracks`, {
          method: 'POST',
          headers: { cookie, origin: a.url, 'content-type': 'application/json' },
          body: JSON.stringify({ url }),
        });
        expect(res.status, await res.clone().text()).toBe(201);
        return ((await res.json()) as { id: string }).id;
      };
      const cacheFiles = () => {
        const dir = join(data, 'cache', 'url');
        if (!existsSync(dir)) return { finals: [] as string[], parts: [] as string[] };
        const files = readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => join(e.parentPath, e.name));
        return { finals: files.filter((f) => !f.endsWith('.part')), parts: files.filter((f) => f.endsWith('.part')) };
      };

      // A's listener starts the download (A holds the track's lock and writes the part file).
      const id = await addRemote('/trickle.mp3');
      const hitsBefore = from.hits('/trickle.mp3'); // adding it probed the URL
      const onA = await get(a, `/stream/${id}`);
      expect(onA.status).toBe(200);
      const fromA = drain(onA);
      await fromA.first;
      // B's listener: B starts no download of its own; it streams A's part file as it grows.
      const onB = await get(b, `/stream/${id}`);
      expect(onB.status).toBe(200);
      expect(onB.headers.get('x-earshot-cache')).toBe('miss');
      const fromB = drain(onB);
      const firstOnB = await fromB.first;
      // The download is still running: nothing under a final name yet, the part is there.
      expect(cacheFiles()).toMatchObject({ finals: [], parts: [expect.stringMatching(/\.mp3\.part$/)] });
      expect(firstOnB.equals(trickled.subarray(0, firstOnB.length))).toBe(true);
      // A Range on B mid-download gets what the holder's own listeners get (206, exact bytes).
      const ranged = await get(b, `/stream/${id}`, { range: 'bytes=1000-' });
      expect(ranged.status).toBe(206);
      const rangedBody = Buffer.from(await ranged.arrayBuffer());
      expect(ranged.headers.get('content-range')).toMatch(
        new RegExp(`^bytes 1000-${999 + rangedBody.length}/(\\*|${trickled.length})$`),
      );
      expect(rangedBody.equals(trickled.subarray(1000, 1000 + rangedBody.length))).toBe(true);

      const [bodyA, bodyB] = await Promise.all([fromA.all, fromB.all]);
      expect(bodyA.equals(trickled)).toBe(true);
      expect(bodyB.equals(trickled)).toBe(true);
      // One download between the two processes (yt-dlp's generic extractor probes, then downloads).
      expect(from.hits('/trickle.mp3') - hitsBefore).toBeLessThanOrEqual(2);

      // kill -9 of the holder mid-way: B's listener, already sent some bytes, gets a cut response.
      const doomed = await addRemote('/trickle-doomed.mp3');
      const holder = await get(a, `/stream/${doomed}`);
      expect(holder.status).toBe(200);
      await drain(holder).first;
      const waiter = await get(b, `/stream/${doomed}`);
      expect(waiter.status).toBe(200);
      const fromWaiter = drain(waiter);
      await fromWaiter.first;
      const finalsBefore = cacheFiles().finals;
      a.child.kill('SIGKILL');
      await expect(fromWaiter.all).rejects.toThrow();
      expect(cacheFiles().finals).toEqual(finalsBefore);
      // The next play (on B) downloads afresh and completes the track.
      const next = await get(b, `/stream/${doomed}`);
      expect(next.status).toBe(200);
      expect(Buffer.from(await next.arrayBuffer()).equals(trickled)).toBe(true);
      let files = cacheFiles();
      while (files.finals.length === finalsBefore.length || files.parts.length > 0) {
        // The commit (fsync, rename) finishes just after the last byte was served.
        await new Promise((r) => setImmediate(r));
        files = cacheFiles();
      }
      expect(files.finals).toHaveLength(finalsBefore.length + 1);
      expect(readFileSync(files.finals.find((f) => !finalsBefore.includes(f)) ?? '').equals(trickled)).toBe(true);
    } finally {
      await from.close();
    }
  }, 120_000);
});
