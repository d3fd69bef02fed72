import { forEachServerEngine } from '../test/engines.js';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { addLocalTrack, insertTrackRow, type TrackFixture } from '../test/streaming.js';

forEachServerEngine(() => {
  describe('/stream/:id — auth, ids, formats', () => {
    let t: TestServer;
    let alice: TestUser;
    let headers: Record<string, string>;
    let mp3: TrackFixture;
    const clock = {
      ms: Date.now(),
      now() {
        return this.ms;
      },
    };

    beforeAll(async () => {
      t = await startTestServer({ clock });
      alice = await t.createUser({ username: 'alice' });
      headers = await t.authHeaders(alice);
      mp3 = await addLocalTrack(t.earshot, 'Artist/Album/01 - One.mp3', { seconds: 2 });
    });
    afterAll(() => t.close());

    it('anonymous requests are refused', async () => {
      const res = await t.app.inject({ url: `/stream/${mp3.id}` });
      expect(res.statusCode).toBe(401);
    });

    it('unknown track → 404', async () => {
      const res = await t.app.inject({ url: '/stream/doesNotExist123', headers });
      expect(res.statusCode).toBe(404);
    });

    it.each([
      '/stream/..%2F..%2Fetc%2Fpasswd',
      '/stream/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/stream/..%5c..%5cwindows',
      '/stream/%2Fetc%2Fpasswd',
      '/stream/abc%00def',
      '/stream/../../etc/passwd',
    ])('path-like id %s → 400/404, never a file (SECURITY.md 1)', async (url) => {
      const res = await t.app.inject({ url, headers });
      expect([400, 404]).toContain(res.statusCode);
      expect(res.headers['content-type']).not.toMatch(/^audio/);
      expect(res.body).not.toContain('root:');
    });

    it('a stored path escaping the music dir (.. or a symlink) is not served', async () => {
      const escaping = await insertTrackRow(t.earshot, null, { localPath: '../../../../etc/passwd', format: 'mp3' });
      expect((await t.app.inject({ url: `/stream/${escaping.id}`, headers })).statusCode).toBe(404);
      const absolute = await insertTrackRow(t.earshot, null, { localPath: '/etc/passwd', format: 'mp3' });
      expect((await t.app.inject({ url: `/stream/${absolute.id}`, headers })).statusCode).toBe(404);
      const link = join(t.earshot.paths.musicDir, 'evil.mp3');
      await symlink('/etc/passwd', link);
      const linked = await insertTrackRow(t.earshot, null, { localPath: 'evil.mp3', format: 'mp3' });
      const res = await t.app.inject({ url: `/stream/${linked.id}`, headers });
      expect(res.statusCode).toBe(404);
      expect(res.body).not.toContain('root:');
    });

    it('a missing file → 404', async () => {
      const gone = await insertTrackRow(t.earshot, null, { localPath: 'nope/missing.mp3', format: 'mp3' });
      expect((await t.app.inject({ url: `/stream/${gone.id}`, headers })).statusCode).toBe(404);
    });

    it.each([
      ['flac', 'audio/flac'],
      ['m4a', 'audio/mp4'],
      ['ogg', 'audio/ogg'],
      ['opus', 'audio/ogg; codecs=opus'],
      ['wav', 'audio/wav'],
    ])('%s is served as-is with Content-Type %s', async (ext, type) => {
      const tr = await addLocalTrack(t.earshot, `Formats/x.${ext}`, { seconds: 1 });
      const res = await t.app.inject({ url: `/stream/${tr.id}`, headers });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe(type);
      expect(res.rawPayload.length).toBe(tr.size);
    });

    it('a cached remote track is served from the cache dir with ranges', async () => {
      const dir = join(t.earshot.paths.cacheDir, 'remote', 'yt');
      await mkdir(dir, { recursive: true });
      const file = join(dir, 'abc.opus');
      const { makeAudio } = await import('../test/audio.js');
      await makeAudio(file, { seconds: 1 });
      const tr = await insertTrackRow(t.earshot, file, { sourceType: 'youtube', isCached: 1 });
      const res = await t.app.inject({ url: `/stream/${tr.id}`, headers: { ...headers, range: 'bytes=0-99' } });
      expect(res.statusCode).toBe(206);
      expect(res.rawPayload.length).toBe(100);
    });

    it('an uncached remote track without a remote handler → 503 with a clear message', async () => {
      const tr = await insertTrackRow(t.earshot, null, { sourceType: 'youtube', isCached: 0, localPath: null });
      t.earshot.streaming.setRemoteHandler(null);
      const res = await t.app.inject({ url: `/stream/${tr.id}`, headers });
      expect(res.statusCode).toBe(503);
      expect(res.json().detail).toMatch(/not cached yet/);
    });

    it('an uncached remote track goes to the installed RemoteStreamHandler', async () => {
      const tr = await insertTrackRow(t.earshot, null, { sourceType: 'youtube', isCached: 0, localPath: null });
      const seen: string[] = [];
      t.earshot.streaming.setRemoteHandler({
        async serveUncached(track, _req, reply, user) {
          seen.push(`${track.id}:${user?.id}`);
          await reply.type('audio/webm').send(Buffer.from('remote-bytes'));
        },
      });
      const res = await t.app.inject({ url: `/stream/${tr.id}`, headers });
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('remote-bytes');
      expect(seen).toEqual([`${tr.id}:${alice.id}`]);
    });

    describe('stream tokens', () => {
      it('grant exactly one track, until they expire (injectable clock)', async () => {
        const other = await addLocalTrack(t.earshot, 'Artist/Album/02 - Two.mp3', { seconds: 1 });
        const issued = await t.app.inject({ method: 'POST', url: `/api/v1/tracks/${mp3.id}/stream-token`, headers });
        expect(issued.statusCode).toBe(200);
        const { token, url, expiresAt } = issued.json();
        expect(url).toBe(`/stream/${mp3.id}?token=${encodeURIComponent(token)}`);
        expect(expiresAt).toBeGreaterThan(clock.now());

        const ok = await t.app.inject({ url, headers: { range: 'bytes=0-9' } });
        expect(ok.statusCode).toBe(206);

        // Bound to that track: another track's stream is refused.
        const wrong = await t.app.inject({ url: `/stream/${other.id}?token=${encodeURIComponent(token)}` });
        expect(wrong.statusCode).toBe(403);
        // And it is no session: API routes do not accept it.
        const api = await t.app.inject({ url: `/api/v1/me/streaming?token=${encodeURIComponent(token)}` });
        expect(api.statusCode).toBe(401);

        // Tampered → 401.
        const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA');
        expect(
          (await t.app.inject({ url: `/stream/${mp3.id}?token=${encodeURIComponent(tampered)}` })).statusCode,
        ).toBe(401);

        const saved = clock.ms;
        clock.ms = expiresAt + 1;
        try {
          const expired = await t.app.inject({ url });
          expect(expired.statusCode).toBe(401);
          expect(expired.json().detail).toMatch(/expired/);
        } finally {
          clock.ms = saved;
        }
      });

      it('are only issued to signed-in users, for existing tracks', async () => {
        expect((await t.app.inject({ method: 'POST', url: `/api/v1/tracks/${mp3.id}/stream-token` })).statusCode).toBe(
          401,
        );
        expect(
          (await t.app.inject({ method: 'POST', url: '/api/v1/tracks/nosuchtrack/stream-token', headers })).statusCode,
        ).toBe(404);
      });
    });

    describe('preferences', () => {
      it('default to original on the LAN and Opus 128 elsewhere, and can be changed', async () => {
        const bob = await t.createUser({ username: 'bob' });
        const h = await t.authHeaders(bob);
        const get = await t.app.inject({ url: '/api/v1/me/streaming', headers: h });
        expect(get.json()).toEqual({
          defaultFormat: 'opus',
          defaultMaxBitRate: 128,
          lanOriginal: true,
          estimateContentLength: false,
        });
        const put = await t.app.inject({
          method: 'PUT',
          url: '/api/v1/me/streaming',
          headers: h,
          payload: { defaultFormat: 'mp3', defaultMaxBitRate: 900, userId: alice.id },
        });
        expect(put.statusCode).toBe(200);
        // Clamped to the format's range; the smuggled userId is ignored (mass assignment).
        expect(put.json()).toMatchObject({ defaultFormat: 'mp3', defaultMaxBitRate: 320 });
        expect((await t.app.inject({ url: '/api/v1/me/streaming', headers })).json().defaultFormat).toBe('opus');
        const bad = await t.app.inject({
          method: 'PUT',
          url: '/api/v1/me/streaming',
          headers: h,
          payload: { defaultFormat: 'wma' },
        });
        expect(bad.statusCode).toBe(400);
      });
    });
  });

  describe('/stream/:id without ffmpeg', () => {
    let t: TestServer;
    let headers: Record<string, string>;
    let track: TrackFixture;

    beforeAll(async () => {
      t = await startTestServer({ env: { EARSHOT_FFMPEG: '/nonexistent/ffmpeg' } });
      headers = await t.authHeaders(await t.createUser());
      track = await addLocalTrack(t.earshot, 'a.flac', { seconds: 1 });
      await writeFile(join(t.dir, 'marker'), '');
    });
    afterAll(() => t.close());

    it('transcode requests get a clear 503; raw streaming still works', async () => {
      const res = await t.app.inject({ url: `/stream/${track.id}?format=opus`, headers });
      expect(res.statusCode).toBe(503);
      expect(res.json().detail).toMatch(/ffmpeg/);
      const raw = await t.app.inject({ url: `/stream/${track.id}`, headers });
      expect(raw.statusCode).toBe(200);
      expect(raw.headers['content-type']).toBe('audio/flac');
    });
  });
});
