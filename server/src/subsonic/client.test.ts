/**
 * A real client library (npm `subsonic-api` 3.3.1, the one the OpenSubsonic docs list) driving a
 * full session against the server on a real port: token auth with fresh and reused salts, apiKey,
 * form POST, browse, search, star, scrobble, playlist, stream with Range and cover art.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SubsonicAPI } from 'subsonic-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachServerEngine } from '../test/engines.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { buildLibrary } from '../test/subsonic/library.js';

let t: TestServer;
let base: string;
let password: string;
let apiKey: string;

forEachServerEngine(() => {
  beforeAll(async () => {
    t = await startTestServer({ env: { EARSHOT_SUBSONIC_REMOTE_SEARCH: 'false' } });
    const user = await t.createUser({ username: 'alice' });
    await buildLibrary(t);
    password = (await t.earshot.accounts.subsonic.createAppPassword(user.id, 'subsonic-api')).password;
    apiKey = (await t.earshot.accounts.subsonic.createApiKey(user.id, 'subsonic-api')).key;
    base = await t.listen();
  });
  afterAll(() => t.close());

  describe('subsonic-api client session', () => {
    it.each([
      ['token auth, a new salt per request', 'token', {}],
      ['token auth, one reused salt', 'token', { reuseSalt: true }],
      ['apiKey', 'apiKey', {}],
      ['apiKey over form POST', 'apiKey', { post: true }],
    ] as const)(
      '%s: browse, search, star, scrobble, playlist, stream with Range, cover art',
      async (_name, mode, extra) => {
        // Range requests go through the library's own fetch, as a player's resume/seek would.
        let range: string | null = null;
        const api = new SubsonicAPI({
          url: base,
          // Credentials exist only after beforeAll, so the table names the mode.
          auth: mode === 'apiKey' ? { apiKey } : { username: 'alice', password },
          ...extra,
          fetch: (input, init) => {
            const headers = new Headers(init?.headers);
            if (range) headers.set('range', range);
            return fetch(input, { ...init, headers });
          },
        });

        const ping = await api.ping();
        expect(ping).toMatchObject({ status: 'ok', openSubsonic: true, type: 'earshot', version: '1.16.1' });
        const ext = await api.getOpenSubsonicExtensions();
        expect(ext.openSubsonicExtensions.map((e) => e.name)).toEqual(
          expect.arrayContaining([
            'apiKeyAuthentication',
            'formPost',
            'songLyrics',
            'transcodeOffset',
            'indexBasedQueue',
          ]),
        );

        const { artists } = await api.getArtists();
        const alpha = artists.index?.flatMap((i) => i.artist ?? []).find((a) => a.name === 'Alpha Band');
        expect(alpha).toBeDefined();
        const { artist } = await api.getArtist({ id: alpha!.id });
        const albumId = artist.album?.[0]?.id as string;
        const { album } = await api.getAlbum({ id: albumId });
        expect(album.song?.map((s) => s.title)).toEqual(['Dawn', 'Rock & Roll <Live> "Noon"']);
        expect(album.created).toBeInstanceOf(Date);
        const dawn = album.song![0];

        const found = await api.search3({ query: 'gale' });
        expect(found.searchResult3.song?.map((s) => s.title)).toEqual(['Gale']);
        const sync = await api.search3({ query: '', songCount: 500, albumCount: 500, artistCount: 500 });
        expect(sync.searchResult3.song).toHaveLength(4);

        await api.star({ id: dawn.id });
        expect((await api.getStarred2({})).starred2.song?.map((s) => s.id)).toContain(dawn.id);
        await api.unstar({ id: dawn.id });
        await api.scrobble({ id: dawn.id, submission: true });

        const created = await api.createPlaylist({ name: `Mix ${_name}`, songId: [dawn.id] });
        const playlistId = (created as unknown as { playlist: { id: string } }).playlist.id;
        await api.updatePlaylist({ playlistId, songIdToAdd: [album.song![1].id] });
        expect((await api.getPlaylist({ id: playlistId })).playlist.entry).toHaveLength(2);
        await api.deletePlaylist({ id: playlistId });

        const file = readFileSync(join(t.earshot.paths.musicDir, 'Alpha Band/First Light/01 Dawn.mp3'));
        range = 'bytes=1000-1999';
        const part = await api.stream({ id: dawn.id });
        range = null;
        expect(part.status).toBe(206);
        expect(Buffer.from(await part.arrayBuffer()).equals(file.subarray(1000, 2000))).toBe(true);

        const cover = await api.getCoverArt({ id: dawn.coverArt!, size: 100 });
        expect(cover.status).toBe(200);
        expect(cover.headers.get('content-type')).toMatch(/^image\//);
        expect((await cover.arrayBuffer()).byteLength).toBeGreaterThan(100);
      },
    );

    it('a wrong app password is error 40 to the library too', async () => {
      const api = new SubsonicAPI({ url: base, auth: { username: 'alice', password: 'not-it' } });
      const r = await api.ping();
      expect(r).toMatchObject({ status: 'failed', error: { code: 40 } });
    });
  });
});
