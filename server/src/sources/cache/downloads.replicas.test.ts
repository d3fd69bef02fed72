/**
 * "One download per remote track" across replicas, through the track locks (cluster/track-locks.ts)
 * the download hub now takes: two hubs on one database and one cache folder, sharing the lock
 * table the way replicas share PostgreSQL's advisory locks. Replica A is the real app (HTTP
 * `/stream`), replica B a second hub over the same database, yt-dlp runner and cache folder (as a
 * second process would be, minus the process). Real yt-dlp against a loopback origin, a real SQLite
 * file. The same scenario across real processes on PostgreSQL is cluster/replicas.test.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio } from '../../test/audio.js';
import { startTestServer, type TestServer } from '../../test/harness.js';
import { type Origin, startOrigin } from '../../test/origin.js';
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
