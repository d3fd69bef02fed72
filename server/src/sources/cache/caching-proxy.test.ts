/**
 * The transparent caching proxy end to end: real yt-dlp (generic extractor) against a loopback
 * origin serving generated audio, the real Fastify app on a real port, on SQLite and PostgreSQL.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio, makeImage } from '../../test/audio.js';
import type { RemoteMetadata, RemoteProvider } from '../providers/provider.js';
import { startTestServer, type TestServer, type TestUser } from '../../test/harness.js';
import { type Origin, startOrigin } from '../../test/origin.js';
import { forEachServerEngine } from '../../test/engines.js';

let t: TestServer;
let origin: Origin;
let base: string;
let admin: TestUser;
let headers: Record<string, string>;
let song: Buffer;
let songPath: string;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

async function addUrl(url: string): Promise<{ id: string; cached: boolean; source: string; title: string }> {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/remote/tracks', headers, payload: { url } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

function cachedEvent(trackId: string): Promise<void> {
  return new Promise((resolve) => {
    const off = t.earshot.events.on('sources.cached', (e) => {
      if (e.trackId === trackId) {
        off();
        resolve();
      }
    });
  });
}

async function row(id: string) {
  return t.earshot.database.db.selectFrom('tracks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

forEachServerEngine((engine) => {
  // Tests about files, processes and memory (not the database) run on SQLite only: each takes
  // 4–20 s and the file would take three minutes on both engines. The others touch the database
  // on PostgreSQL too (is_cached, stored artwork, the per-track download lock, cache deletion).
  const notDatabase = engine === 'sqlite' ? it : it.skip;

  beforeAll(async () => {
    process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES = '1';
    origin = await startOrigin();
    t = await startTestServer();
    delete process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES;
    base = await t.listen();
    admin = await t.createUser({ username: 'admin', role: 'admin' });
    headers = await t.authHeaders(admin);
    songPath = await makeAudio(join(t.dir, 'fixtures', 'song.mp3'), {
      seconds: 4,
      tags: { title: 'Real Title', artist: 'Real Artist', album: 'Real Album' },
    });
    song = readFileSync(songPath);
  });

  afterAll(async () => {
    await t?.close();
    await origin?.close();
  });

  describe('caching proxy', () => {
    it('streams the first play while caching it, then serves the cached file with Range', async () => {
      const track = await addUrl(origin.set('/first.mp3', { kind: 'file', path: songPath }));
      expect(track).toMatchObject({ source: 'url', cached: false });

      // HEAD describes the stream without starting a download.
      const head = await fetch(`${base}/stream/${track.id}`, { method: 'HEAD', headers });
      expect(head.status).toBe(200);
      expect(t.earshot.sources.runner.started.audio).toBe(0);

      const cached = cachedEvent(track.id);
      const first = await fetch(`${base}/stream/${track.id}`, { headers });
      expect(first.status).toBe(200);
      expect(first.headers.get('x-earshot-cache')).toBe('miss');
      expect(first.headers.get('content-type')).toBe('audio/mpeg');
      expect(Buffer.from(await first.arrayBuffer()).equals(song)).toBe(true);
      await cached;

      const r = await row(track.id);
      expect(r.is_cached).toBe(1);
      expect(r.local_path).toMatch(/^url\/Unknown Artist\/Unknown Album\/first \[[0-9a-f]{16}\]\.mp3$/);
      // Real tags and duration from the file now describe the track.
      expect(r.title).toBe('Real Title');
      expect(r.album).toBe('Real Album');
      expect(r.duration).toBeGreaterThan(3.5);
      expect(r.size).toBe(song.length);
      const file = join(t.config.cacheDir, r.local_path!);
      expect(readFileSync(file).equals(song)).toBe(true);
      expect(filesUnder(join(t.config.cacheDir, 'url')).filter((f) => f.endsWith('.part'))).toEqual([]);

      const downloadsBefore = t.earshot.sources.runner.started.audio;
      const second = await fetch(`${base}/stream/${track.id}`, { headers: { ...headers, range: 'bytes=100-1099' } });
      expect(second.status).toBe(206);
      expect(second.headers.get('content-range')).toBe(`bytes 100-1099/${song.length}`);
      expect(Buffer.from(await second.arrayBuffer()).equals(song.subarray(100, 1100))).toBe(true);
      expect(t.earshot.sources.runner.started.audio).toBe(downloadsBefore);

      // Search shows it as cached for everybody.
      const bob = await t.createUser({ username: 'bob' });
      const again = await t.app.inject({
        method: 'POST',
        url: '/api/v1/remote/tracks',
        headers: await t.authHeaders(admin),
        payload: { url: origin.set('/first.mp3', { kind: 'file', path: songPath }) },
      });
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ id: track.id, cached: true });
      const asBob = await fetch(`${base}/stream/${track.id}`, { headers: await t.authHeaders(bob) });
      expect(asBob.status).toBe(200);
      expect(Buffer.from(await asBob.arrayBuffer()).equals(song)).toBe(true);
    });

    it('SECURITY 27: two concurrent listeners share one download (one yt-dlp process)', async () => {
      const track = await addUrl(origin.set('/shared.mp3', { kind: 'slow', path: songPath, chunk: 8192, everyMs: 15 }));
      const before = t.earshot.sources.runner.started.audio;
      const cached = cachedEvent(track.id);
      const [a, b] = await Promise.all([
        fetch(`${base}/stream/${track.id}`, { headers }),
        fetch(`${base}/stream/${track.id}`, { headers }),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);
      const [ba, bb] = await Promise.all([a.arrayBuffer(), b.arrayBuffer()]);
      expect(Buffer.from(ba).equals(song)).toBe(true);
      expect(Buffer.from(bb).equals(song)).toBe(true);
      await cached;
      expect(t.earshot.sources.runner.started.audio - before).toBe(1);
    });

    notDatabase('a Range request during the download gets the bytes already on disk (206 …/*) ', async () => {
      const track = await addUrl(origin.set('/ranged.mp3', { kind: 'slow', path: songPath, chunk: 4096, everyMs: 20 }));
      const cached = cachedEvent(track.id);
      const live = await fetch(`${base}/stream/${track.id}`, { headers });
      const reader = live.body!.getReader();
      let got = 0;
      while (got < 20_000) got += (await reader.read()).value?.length ?? 0;
      const part = await fetch(`${base}/stream/${track.id}`, { headers: { ...headers, range: 'bytes=1000-' } });
      expect(part.status).toBe(206);
      const range = part.headers.get('content-range')!;
      expect(range).toMatch(/^bytes 1000-\d+\/\*$/);
      const end = Number(/-(\d+)\//.exec(range)![1]);
      expect(Buffer.from(await part.arrayBuffer()).equals(song.subarray(1000, end + 1))).toBe(true);
      while (!(await reader.read()).done);
      await cached;
    });

    it('the origin dropping mid-file leaves no file, is_cached=0 and a cut response', async () => {
      const track = await addUrl(origin.set('/drop.mp3', { kind: 'file', path: songPath }));
      origin.set('/drop.mp3', { kind: 'drop', path: songPath, afterBytes: 20_000 });
      const res = await fetch(`${base}/stream/${track.id}`, { headers });
      expect(res.status).toBe(200);
      await expect(res.arrayBuffer()).rejects.toThrow();
      // The failure is settled (part deleted) before the response is cut.
      const r = await row(track.id);
      expect(r.is_cached).toBe(0);
      expect(r.local_path).toBeNull();
      expect(filesUnder(join(t.config.cacheDir, 'url')).filter((f) => f.includes('drop'))).toEqual([]);
    });

    notDatabase(
      'an origin that breaks off once and cannot resume never leaves a restarted download in the cache',
      async () => {
        // yt-dlp retries a broken-off download; writing to stdout against an origin without Range
        // support it starts again from byte 0, so the bytes already sent would be followed by the
        // whole file (found by the kill -9 crash bench: a cached file longer than the origin's).
        const track = await addUrl(origin.set('/flaky.mp3', { kind: 'file', path: songPath }));
        const probes = origin.hits('/flaky.mp3');
        origin.set('/flaky.mp3', { kind: 'drop', path: songPath, afterBytes: 20_000, times: 2 });
        const res = await fetch(`${base}/stream/${track.id}`, { headers });
        expect(res.status).toBe(200);
        const first = await res.arrayBuffer().then(
          (b) => Buffer.from(b),
          () => null,
        );
        // The listener never gets a spliced file: either the download failed (a cut response) or …
        if (first) expect(first.equals(song)).toBe(true);
        expect(origin.hits('/flaky.mp3')).toBeGreaterThan(probes + 1);
        const r = await row(track.id);
        const files = filesUnder(join(t.config.cacheDir, 'url')).filter((f) => f.includes('flaky'));
        if (r.is_cached) {
          expect(files).toHaveLength(1);
          expect(readFileSync(files[0] ?? '').equals(song)).toBe(true);
        } else expect(files).toEqual([]);

        // The next play (origin healthy) caches exactly the origin's bytes.
        origin.set('/flaky.mp3', { kind: 'file', path: songPath });
        const cached = r.is_cached ? Promise.resolve() : cachedEvent(track.id);
        const again = Buffer.from(await (await fetch(`${base}/stream/${track.id}`, { headers })).arrayBuffer());
        expect(again.equals(song)).toBe(true);
        await cached;
        const stored = filesUnder(join(t.config.cacheDir, 'url')).filter((f) => f.includes('flaky'));
        expect(stored).toHaveLength(1);
        expect(readFileSync(stored[0] ?? '').equals(song)).toBe(true);
      },
    );

    notDatabase('an origin failing before any byte answers 502 problem JSON with the reason', async () => {
      const track = await addUrl(origin.set('/gone.mp3', { kind: 'file', path: songPath }));
      origin.set('/gone.mp3', { kind: 'status', status: 500 });
      const res = await fetch(`${base}/stream/${track.id}`, { headers });
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const body = (await res.json()) as { code: string; detail: string };
      expect(body.code).toBe('bad_gateway');
      expect(body.detail).toMatch(/HTTP Error 500/);
      expect((await row(track.id)).is_cached).toBe(0);
    });

    notDatabase('a listener leaving stops its yt-dlp (after the grace period) and nothing is kept', async () => {
      t.earshot.sources.hub.limits.idleGraceMs = 50;
      const track = await addUrl(origin.set('/leave.mp3', { kind: 'slow', path: songPath, chunk: 2048, everyMs: 50 }));
      const controller = new AbortController();
      const res = await fetch(`${base}/stream/${track.id}`, { headers, signal: controller.signal });
      const reader = res.body!.getReader();
      await reader.read();
      const dl = t.earshot.sources.hub.current(track.id)!;
      expect(dl).not.toBeNull();
      controller.abort();
      await expect(dl.finished).rejects.toThrow(/every listener left/);
      expect(t.earshot.sources.runner.activeCount).toBe(0);
      expect((await row(track.id)).is_cached).toBe(0);
      expect(filesUnder(join(t.config.cacheDir, 'url')).filter((f) => f.includes('leave'))).toEqual([]);
    });

    it('a YouTube search hit played once is cached under youtube/…, with its thumbnail stored as artwork', async () => {
      const cover = await makeImage(join(t.dir, 'fixtures', 'thumb.jpg'), { width: 320, height: 180, color: 'blue' });
      const thumbUrl = origin.set('/thumb.jpg', { kind: 'file', path: cover, contentType: 'image/jpeg' });
      const audioUrl = origin.set('/yt-audio.mp3', { kind: 'file', path: songPath });
      // The real YouTube is unreachable here: a provider double answers the search and names the
      // audio URL; everything after it (catalog, yt-dlp, cache, thumbnail) is the real path.
      const hit: RemoteMetadata = {
        source: 'youtube',
        remoteId: 'dQw4w9WgXcQ',
        title: 'Never Gonna Give You Up',
        artist: 'Rick Astley',
        album: 'Whenever You Need Somebody',
        duration: 4,
        thumbnailUrl: thumbUrl,
        webpageUrl: null,
        extractor: 'Youtube',
      };
      const provider: RemoteProvider = {
        name: 'youtube',
        search: async () => [hit],
        resolve: async () => hit,
        playTarget: async () => ({ target: audioUrl }),
      };
      t.earshot.sources.registry.set(provider);
      t.earshot.sources.registry.setEnabled('soundcloud', false);
      const search = await t.app.inject({ url: '/api/v1/search?q=never', headers });
      expect(search.json().remote[0].items[0]).toMatchObject({ remoteId: 'dQw4w9WgXcQ', cached: false, trackId: null });
      const add = await t.app.inject({
        method: 'POST',
        url: '/api/v1/remote/tracks',
        headers,
        payload: { provider: 'youtube', remoteId: 'dQw4w9WgXcQ' },
      });
      expect(add.statusCode, add.body).toBe(201);
      const id = add.json().id;

      const cached = cachedEvent(id);
      expect(Buffer.from(await (await fetch(`${base}/stream/${id}`, { headers })).arrayBuffer()).equals(song)).toBe(
        true,
      );
      await cached;
      const r = await row(id);
      expect(r.local_path).toBe(
        'youtube/Rick Astley/Whenever You Need Somebody/Never Gonna Give You Up [dQw4w9WgXcQ].mp3',
      );
      expect(r.artwork_id).toMatch(/^[0-9a-f]{64}$/);
      const art = await t.app.inject({ url: `/api/v1/artwork/${r.artwork_id}`, headers });
      expect(art.statusCode).toBe(200);
      expect(art.headers['content-type']).toMatch(/^image\//);

      const again = await t.app.inject({ url: '/api/v1/search?q=never', headers });
      expect(again.json().remote[0].items[0]).toMatchObject({ remoteId: 'dQw4w9WgXcQ', cached: true, trackId: id });
    });

    notDatabase(
      'caps the downloads one user can start at once (503 + Retry-After), without blocking others',
      async () => {
        t.earshot.sources.hub.limits.idleGraceMs = 50;
        const fay = await t.createUser({ username: 'fay' });
        const fayHeaders = await t.authHeaders(fay);
        const ids = [];
        for (let i = 0; i < 3; i++)
          ids.push(
            (await addUrl(origin.set(`/cap${i}.mp3`, { kind: 'slow', path: songPath, chunk: 1024, everyMs: 100 }))).id,
          );
        const controllers = [new AbortController(), new AbortController()];
        const open = await Promise.all(
          ids
            .slice(0, 2)
            .map((id, i) => fetch(`${base}/stream/${id}`, { headers: fayHeaders, signal: controllers[i].signal })),
        );
        expect(open.map((r) => r.status)).toEqual([200, 200]);
        const third = await fetch(`${base}/stream/${ids[2]}`, { headers: fayHeaders });
        expect(third.status).toBe(503);
        expect(third.headers.get('retry-after')).toBe('5');
        // Joining a download already running is not a new download: allowed.
        const join = new AbortController();
        const joined = await fetch(`${base}/stream/${ids[0]}`, { headers: fayHeaders, signal: join.signal });
        expect(joined.status).toBe(200);
        const downloads = [ids[0], ids[1]].map((id) => t.earshot.sources.hub.current(id)!);
        for (const c of [...controllers, join]) c.abort();
        for (const dl of downloads) await dl.finished.catch(() => {});
        expect(t.earshot.sources.runner.activeCount).toBe(0);
      },
    );

    it('DELETE /tracks/:id/cache removes the file and resets is_cached (admin or who added it)', async () => {
      const track = await addUrl(origin.set('/del.mp3', { kind: 'file', path: songPath }));
      const cached = cachedEvent(track.id);
      await (await fetch(`${base}/stream/${track.id}`, { headers })).arrayBuffer();
      await cached;
      const file = join(t.config.cacheDir, (await row(track.id)).local_path!);
      expect(existsSync(file)).toBe(true);

      const carol = await t.createUser({ username: 'carol' });
      const denied = await t.app.inject({
        method: 'DELETE',
        url: `/api/v1/tracks/${track.id}/cache`,
        headers: await t.authHeaders(carol),
      });
      expect(denied.statusCode).toBe(403);
      expect(existsSync(file)).toBe(true);

      const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/tracks/${track.id}/cache`, headers });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: track.id, cached: false });
      expect(existsSync(file)).toBe(false);
      expect((await row(track.id)).is_cached).toBe(0);

      const summary = await t.app.inject({ url: '/api/v1/admin/cache', headers });
      expect(summary.statusCode).toBe(200);
      const onDisk = ['url', 'youtube', 'soundcloud'].flatMap((s) => filesUnder(join(t.config.cacheDir, s)));
      expect(summary.json().files).toBe(onDisk.length);
      expect(summary.json().bytes).toBe(onDisk.reduce((sum, f) => sum + readFileSync(f).length, 0));
      const forbidden = await t.app.inject({ url: '/api/v1/admin/cache', headers: await t.authHeaders(carol) });
      expect(forbidden.statusCode).toBe(403);
    });
  });
});
