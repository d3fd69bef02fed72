/**
 * One download per remote track across two replicas on PostgreSQL, with the real pieces: two
 * sources areas (createSources) on two connection pools of one migrated database, each with its
 * own cluster (PgTrackLocks: advisory locks on their own connections), one shared cache folder,
 * real yt-dlp against a loopback origin. Concurrent asks make one download and both end on the
 * same committed file; when the holder's download ends without a file, the waiting replica takes
 * the lock and downloads it. Search and likes are not part of this (inert providers).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type Cluster, createCluster } from '../../cluster/index.js';
import { type AnyDatabase, connectDatabase } from '../../db/engine.js';
import { migrateToLatest } from '../../db/migrate.js';
import { EventBus } from '../../shared/events.js';
import { dataPaths, ensureDataDirs } from '../../shared/fs-paths.js';
import { Lifecycle } from '../../shared/lifecycle.js';
import { systemClock } from '../../shared/time.js';
import { makeAudio } from '../../test/audio.js';
import { insertTrack } from '../../test/catalog-rows.js';
import { testConfig } from '../../test/harness.js';
import { type Origin, startOrigin } from '../../test/origin.js';
import { createTestDatabase } from '../../test/postgres.js';
import { createSources, type Sources } from '../module.js';
import { DownloadFailed } from './remote-download.js';

const created = await createTestDatabase({ url: inject('pgUrl'), skipReason: inject('pgSkipReason') }, 'downloads');
const dir = mkdtempSync(join(tmpdir(), 'earshot-pg-downloads-'));
const logger = pino({ level: 'silent' });
const opened: AnyDatabase[] = [];
const clusters: Cluster[] = [];
const lifecycles: Lifecycle[] = [];
let origin: Origin | undefined;
afterAll(async () => {
  for (const l of lifecycles) await l.stop();
  for (const c of clusters) await c.close();
  for (const d of opened) await d.close();
  await origin?.close();
  await created?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function replica(name: string, url: string): Promise<{ sources: Sources; database: AnyDatabase }> {
  const database = await connectDatabase({ url, path: '' });
  opened.push(database);
  const cluster = await createCluster({ postgresUrl: url, logger, replica: name });
  clusters.push(cluster);
  const lifecycle = new Lifecycle(logger);
  lifecycles.push(lifecycle);
  const config = testConfig(dir, { EARSHOT_DATABASE_URL: url });
  const paths = dataPaths(config);
  ensureDataDirs(paths);
  const sources = await createSources({
    config,
    db: database.db,
    paths,
    events: new EventBus(),
    clock: systemClock,
    logger,
    lifecycle,
    local: { search: async () => ({ tracks: [], albums: [], artists: [] }) },
    liked: { likedIds: async () => new Set<string>() },
    allowLoopback: true,
    trackLocks: cluster.trackLocks,
  });
  lifecycle.onStop('hub', () => sources.hub.stop());
  return { sources, database };
}

const parts = () => {
  const root = join(dir, 'cache');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.part'))
    .map((e) => e.name);
};

describe.skipIf(!created)('remote downloads shared by replicas on PostgreSQL', () => {
  it('one download for concurrent asks on two replicas; a failed holder hands the track to the waiter', async () => {
    const url = created?.url ?? '';
    const setup = await connectDatabase({ url, path: '' });
    opened.push(setup);
    await migrateToLatest(setup.db);
    origin = await startOrigin();
    const songPath = await makeAudio(join(dir, 'fixtures', 'song.mp3'), { seconds: 4, tags: { title: 'PG' } });
    const song = readFileSync(songPath);
    const a = await replica('a', url);
    const b = await replica('b', url);
    const remoteTrack = async (path: string, chunk: number, everyMs: number) => {
      const id = await insertTrack(setup.db, { title: path, source: 'youtube' }); // remote; made a URL below
      const remote = origin?.set(path, { kind: 'slow', path: songPath, chunk, everyMs }) ?? '';
      await setup.db
        .updateTable('tracks')
        .set({ source_type: 'url', remote_id: remote })
        .where('id', '=', id)
        .execute();
      const row = await setup.db.selectFrom('tracks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      return row;
    };
    const audioProcesses = () => a.sources.runner.started.audio + b.sources.runner.started.audio;

    // Concurrent: one yt-dlp between the two replicas; both end on the one committed file.
    const shared = await remoteTrack('/pg-shared.mp3', 8192, 15);
    const before = audioProcesses();
    const onA = a.sources.hub.join(shared, { kind: 'job', userId: null });
    const onB = b.sources.hub.join(shared, { kind: 'job', userId: null });
    const holds = [onA.hold(), onB.hold()];
    await Promise.all([onA.finished, onB.finished]);
    for (const release of holds) release();
    expect(audioProcesses() - before).toBe(1);
    const row = await setup.db.selectFrom('tracks').selectAll().where('id', '=', shared.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ is_cached: 1, size: song.length });
    expect(onA.location?.relative).toBe(row.local_path);
    expect(onB.location?.relative).toBe(row.local_path);
    expect(readFileSync(join(dir, 'cache', row.local_path ?? '')).equals(song)).toBe(true);
    expect(parts()).toEqual([]);

    // The holder's download ends without a file: the waiting replica downloads it itself.
    const doomed = await remoteTrack('/pg-doomed.mp3', 4096, 20);
    const started = audioProcesses();
    const startedOnB = b.sources.runner.started.audio; // either replica may have run the first one
    const holder = a.sources.hub.join(doomed, { kind: 'job', userId: null });
    const releaseHolder = holder.hold();
    await holder.firstData();
    const waiter = b.sources.hub.join(doomed, { kind: 'job', userId: null });
    const releaseWaiter = waiter.hold();
    expect(b.sources.runner.started.audio).toBe(startedOnB); // B starts no yt-dlp while A holds the lock
    holder.cancel(new DownloadFailed('replica A went away', true));
    await expect(holder.finished).rejects.toThrow('replica A went away');
    releaseHolder();
    await waiter.finished;
    releaseWaiter();
    expect(audioProcesses() - started).toBe(2);
    expect(b.sources.runner.started.audio).toBe(startedOnB + 1);
    const done = await setup.db.selectFrom('tracks').selectAll().where('id', '=', doomed.id).executeTakeFirstOrThrow();
    expect(done).toMatchObject({ is_cached: 1, size: song.length });
    expect(readFileSync(join(dir, 'cache', done.local_path ?? '')).equals(song)).toBe(true);
    expect(parts()).toEqual([]);
  });
});
