/**
 * Offline playlists end to end: the listening area's events (`playlist.offlineChanged`,
 * `playlist.tracksAdded`) queue persistent cache jobs; the runner downloads them with real yt-dlp
 * from a loopback origin; progress is visible to the owner and admins.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../shared/ids.js';
import { makeAudio } from '../../test/audio.js';
import { startTestServer, type TestServer, type TestUser } from '../../test/harness.js';
import { type Origin, startOrigin } from '../../test/origin.js';
import { forEachServerEngine } from '../../test/engines.js';

let t: TestServer;
let origin: Origin;
let owner: TestUser;
let ownerHeaders: Record<string, string>;
const songs: string[] = [];

async function addUrl(url: string): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/remote/tracks',
    headers: ownerHeaders,
    payload: { url },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

function cached(trackIds: string[]): Promise<void> {
  const left = new Set(trackIds);
  return new Promise((resolve) => {
    const off = t.earshot.events.on('sources.cached', (e) => {
      left.delete(e.trackId);
      if (left.size === 0) {
        off();
        resolve();
      }
    });
  });
}

async function createPlaylist(trackIds: string[], isOffline: 0 | 1): Promise<string> {
  const id = newId();
  const now = Date.now();
  const db = t.earshot.database.db;
  await db
    .insertInto('playlists')
    .values({ id, owner_id: owner.id, name: 'Road trip', is_offline: isOffline, created_at: now, updated_at: now })
    .execute();
  await addEntries(id, trackIds, 0);
  return id;
}

async function addEntries(playlistId: string, trackIds: string[], from: number): Promise<void> {
  const db = t.earshot.database.db;
  for (const [i, trackId] of trackIds.entries()) {
    const tr = await db.selectFrom('tracks').select(['title']).where('id', '=', trackId).executeTakeFirstOrThrow();
    await db
      .insertInto('playlist_tracks')
      .values({
        id: newId(),
        playlist_id: playlistId,
        position: from + i,
        track_id: trackId,
        title: tr.title,
        added_at: Date.now(),
      })
      .execute();
  }
}

async function offlineStatus(playlistId: string, headers = ownerHeaders) {
  return t.app.inject({ url: `/api/v1/playlists/${playlistId}/offline`, headers });
}

forEachServerEngine(() => {
  beforeAll(async () => {
    process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES = '1';
    songs.length = 0;
    origin = await startOrigin();
    t = await startTestServer({ env: { EARSHOT_CACHE_JOBS: '2' } });
    delete process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES;
    owner = await t.createUser({ username: 'olive', role: 'admin' });
    ownerHeaders = await t.authHeaders(owner);
    for (let i = 0; i < 4; i++) {
      songs.push(
        await makeAudio(join(t.dir, 'fixtures', `s${i}.mp3`), {
          seconds: 2,
          frequency: 300 + i * 100,
          tags: { title: `Offline ${i}` },
        }),
      );
    }
  });

  afterAll(async () => {
    await t?.close();
    await origin?.close();
  });

  describe('offline playlists', () => {
    it('marking a playlist offline (real playlist routes) caches its remote tracks; tracks added later too', async () => {
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await addUrl(origin.set(`/o${i}.mp3`, { kind: 'file', path: songs[i] })));
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/playlists',
        headers: ownerHeaders,
        payload: { name: 'Road trip' },
      });
      expect(created.statusCode, created.body).toBe(201);
      const playlistId: string = created.json().id;
      const added = await t.app.inject({
        method: 'POST',
        url: `/api/v1/playlists/${playlistId}/tracks`,
        headers: ownerHeaders,
        payload: { trackIds: [ids[0], ids[1]] },
      });
      expect(added.statusCode, added.body).toBe(200);
      // Not offline yet: adding tracks queues nothing.
      await t.earshot.sources.offline.flush();
      expect((await offlineStatus(playlistId)).json()).toMatchObject({ isOffline: false, total: 2, queued: 0 });

      const patched = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/playlists/${playlistId}`,
        headers: ownerHeaders,
        payload: { isOffline: true },
      });
      expect(patched.statusCode, patched.body).toBe(200);
      await t.earshot.sources.offline.flush();
      const queued = (await offlineStatus(playlistId)).json();
      expect(queued).toMatchObject({ playlistId, isOffline: true, total: 2, cached: 0, queued: 2, failed: 0 });

      const firstTwo = cached([ids[0], ids[1]]);
      await t.earshot.sources.jobRunner.start();
      await firstTwo;
      await t.earshot.sources.jobRunner.whenIdle();
      const done = (await offlineStatus(playlistId)).json();
      expect(done).toMatchObject({ total: 2, cached: 2, queued: 0, running: 0, failed: 0 });
      expect(done.jobs.map((j: { state: string }) => j.state)).toEqual(['done', 'done']);

      const third = cached([ids[2]]);
      const more = await t.app.inject({
        method: 'POST',
        url: `/api/v1/playlists/${playlistId}/tracks`,
        headers: ownerHeaders,
        payload: { trackIds: [ids[2]] },
      });
      expect(more.statusCode, more.body).toBe(200);
      await third;
      await t.earshot.sources.jobRunner.whenIdle();
      expect((await offlineStatus(playlistId)).json()).toMatchObject({ total: 3, cached: 3 });
      const rows = await t.earshot.database.db
        .selectFrom('tracks')
        .select(['id', 'local_path', 'is_cached'])
        .where('id', 'in', ids)
        .execute();
      for (const r of rows) {
        expect(r.is_cached).toBe(1);
        expect(readFileSync(join(t.config.cacheDir, r.local_path!)).length).toBeGreaterThan(1000);
      }

      // Admin views.
      const jobs = await t.app.inject({ url: '/api/v1/admin/jobs?state=done', headers: ownerHeaders });
      expect(jobs.json().counts.done).toBe(3);
      const cache = (await t.app.inject({ url: '/api/v1/admin/cache', headers: ownerHeaders })).json();
      expect(cache.bySource).toEqual([expect.objectContaining({ source: 'url', tracks: 3 })]);
      expect(cache.files).toBe(3);
    });

    it('a failing download is retried with backoff until it succeeds', async () => {
      t.earshot.sources.jobRunner.backoff.baseMs = 100;
      const id = await addUrl(origin.set('/flaky.mp3', { kind: 'file', path: songs[3] }));
      origin.set('/flaky.mp3', { kind: 'status', status: 503 });
      const playlistId = await createPlaylist([id], 1);
      const firstAttempt = origin.waitForHit('/flaky.mp3', 2);
      t.earshot.events.emit('playlist.offlineChanged', { playlistId, ownerId: owner.id, isOffline: true });
      await firstAttempt;
      await t.earshot.sources.jobRunner.whenIdle();
      const failedOnce = (await offlineStatus(playlistId)).json();
      expect(failedOnce.jobs[0]).toMatchObject({ state: 'queued', attempts: 1 });
      expect(failedOnce.jobs[0].lastError).toMatch(/503/);
      expect(failedOnce.jobs[0].runAfter).toBeGreaterThan(failedOnce.jobs[0].updatedAt);

      const ok = cached([id]);
      origin.set('/flaky.mp3', { kind: 'file', path: songs[3] });
      await ok;
      await t.earshot.sources.jobRunner.whenIdle();
      const after = (await offlineStatus(playlistId)).json();
      expect(after).toMatchObject({ cached: 1, failed: 0 });
      expect(after.jobs[0]).toMatchObject({ state: 'done', attempts: 2 });
    });

    it('progress is private to the owner of a private playlist (404 for others), visible to admins', async () => {
      const playlistId = await createPlaylist([], 0);
      const stranger = await t.createUser({ username: 'stranger' });
      expect((await offlineStatus(playlistId, await t.authHeaders(stranger))).statusCode).toBe(404);
      expect((await offlineStatus(playlistId)).statusCode).toBe(200);
      expect((await offlineStatus('no-such-playlist')).statusCode).toBe(404);
      expect(
        (await t.app.inject({ url: '/api/v1/admin/jobs', headers: await t.authHeaders(stranger) })).statusCode,
      ).toBe(403);
    });
  });
});
