import { afterEach, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { insertTrack } from '../test/catalog-rows.js';
import { contentDisposition, parseM3u } from './m3u.js';
import { forEachServerEngine } from '../test/engines.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function setup() {
  t = await startTestServer();
  const alice = await t.createUser({ username: 'alice' });
  const bob = await t.createUser({ username: 'bob' });
  return { alice, bob, a: await t.authHeaders(alice), b: await t.authHeaders(bob) };
}

type Headers = Record<string, string>;
const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT', url: string, headers: Headers, payload?: unknown) =>
  t!.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
const order = (res: LightMyRequestResponse) => res.json().entries.map((e: { title: string }) => e.title);

forEachServerEngine(() => {
  describe('playlists', () => {
    it('CRUD: private by default, listed with owner name and flags, renamed, deleted', async () => {
      const { a } = await setup();
      const created = await call('POST', '/api/v1/playlists', a, { name: '  Road trip ', description: 'summer' });
      expect(created.statusCode).toBe(201);
      const p = created.json();
      expect(p).toMatchObject({
        name: 'Road trip',
        description: 'summer',
        ownerName: 'alice',
        isPublic: false,
        isOffline: false,
        isOwner: true,
        trackCount: 0,
      });

      const list = (await call('GET', '/api/v1/playlists', a)).json();
      expect(list).toMatchObject({ total: 1, items: [{ id: p.id, name: 'Road trip' }] });

      const renamed = await call('PATCH', `/api/v1/playlists/${p.id}`, a, { name: 'Road trip 2026', isPublic: true });
      expect(renamed.json()).toMatchObject({ name: 'Road trip 2026', isPublic: true });
      expect((await call('PATCH', `/api/v1/playlists/${p.id}`, a, { name: '   ' })).statusCode).toBe(400);
      expect((await call('POST', '/api/v1/playlists', a, {})).statusCode).toBe(400);

      expect((await call('DELETE', `/api/v1/playlists/${p.id}`, a)).statusCode).toBe(204);
      expect((await call('GET', `/api/v1/playlists/${p.id}`, a)).statusCode).toBe(404);
      expect((await call('GET', '/api/v1/playlists/..%2F..%2Fetc%2Fpasswd', a)).statusCode).toBe(400);
    });

    it('adds (with duplicates and positions), removes and reorders entries; a deleted track stays as unavailable', async () => {
      const { a } = await setup();
      const db = t!.earshot.database.db;
      const [one, two, three] = await Promise.all(
        ['One', 'Two', 'Three'].map((title) => insertTrack(db, { title, artist: 'Band', duration: 100 })),
      );
      const p = (await call('POST', '/api/v1/playlists', a, { name: 'Mix' })).json();
      const url = `/api/v1/playlists/${p.id}`;

      expect((await call('POST', `${url}/tracks`, a, { trackIds: [one, two, one] })).json()).toEqual({
        added: 3,
        position: 0,
      });
      expect((await call('POST', `${url}/tracks`, a, { trackIds: [three], position: 1 })).json()).toEqual({
        added: 1,
        position: 1,
      });
      let detail = await call('GET', url, a);
      expect(order(detail)).toEqual(['One', 'Three', 'Two', 'One']);
      expect(detail.json()).toMatchObject({ trackCount: 4, duration: 400 });
      expect(detail.json().entries.map((e: { position: number }) => e.position)).toEqual([0, 1, 2, 3]);
      expect(detail.json().entries[0].track).toMatchObject({ id: one, title: 'One', liked: false });

      const unknown = await call('POST', `${url}/tracks`, a, { trackIds: ['nope123'] });
      expect(unknown.statusCode).toBe(400);
      expect(unknown.json().detail).toContain('nope123');

      const entries = detail.json().entries;
      expect((await call('POST', `${url}/move`, a, { entryId: entries[3].entryId, toPosition: 0 })).statusCode).toBe(
        204,
      );
      expect(order(await call('GET', url, a))).toEqual(['One', 'One', 'Three', 'Two']);
      expect((await call('POST', `${url}/move`, a, { entryId: entries[3].entryId, toPosition: 99 })).statusCode).toBe(
        204,
      );
      expect(order(await call('GET', url, a))).toEqual(['One', 'Three', 'Two', 'One']);

      expect((await call('DELETE', `${url}/tracks/${entries[1].entryId}`, a)).statusCode).toBe(204);
      expect((await call('DELETE', `${url}/tracks/${entries[1].entryId}`, a)).statusCode).toBe(404);
      detail = await call('GET', url, a);
      expect(order(detail)).toEqual(['One', 'Two', 'One']);
      expect(detail.json().entries.map((e: { position: number }) => e.position)).toEqual([0, 1, 2]);

      // The library loses "Two": the entry remains, unavailable, with its snapshot.
      await db.deleteFrom('tracks').where('id', '=', two).execute();
      const after = (await call('GET', url, a)).json().entries[1];
      expect(after).toMatchObject({ available: false, track: null, title: 'Two', artist: 'Band', duration: 100 });
    });

    it('emits playlist.tracksAdded and playlist.offlineChanged', async () => {
      const { a, alice } = await setup();
      const events: unknown[] = [];
      t!.earshot.events.on('playlist.tracksAdded', (e) => events.push(['added', e]));
      t!.earshot.events.on('playlist.offlineChanged', (e) => events.push(['offline', e]));
      const id = await insertTrack(t!.earshot.database.db, { title: 'Remote', source: 'youtube' });
      const p = (await call('POST', '/api/v1/playlists', a, { name: 'Offline' })).json();
      await call('POST', `/api/v1/playlists/${p.id}/tracks`, a, { trackIds: [id, id] });
      await call('PATCH', `/api/v1/playlists/${p.id}`, a, { isOffline: true });
      await call('PATCH', `/api/v1/playlists/${p.id}`, a, { isOffline: true }); // unchanged: no event
      expect(events).toEqual([
        ['added', { playlistId: p.id, ownerId: alice.id, trackIds: [id] }],
        ['offline', { playlistId: p.id, ownerId: alice.id, isOffline: true }],
      ]);
    });

    it('scoping: another user’s private playlist is 404 for every verb; public is read-only for others', async () => {
      const { a, b } = await setup();
      const track = await insertTrack(t!.earshot.database.db, { title: 'Song' });
      const priv = (await call('POST', '/api/v1/playlists', a, { name: 'Secret' })).json();
      await call('POST', `/api/v1/playlists/${priv.id}/tracks`, a, { trackIds: [track] });
      const entry = (await call('GET', `/api/v1/playlists/${priv.id}`, a)).json().entries[0].entryId;
      const u = `/api/v1/playlists/${priv.id}`;
      const attempts: [Parameters<typeof call>[0], string, unknown?][] = [
        ['GET', u],
        ['PATCH', u, { name: 'mine now' }],
        ['DELETE', u],
        ['POST', `${u}/tracks`, { trackIds: [track] }],
        ['DELETE', `${u}/tracks/${entry}`],
        ['POST', `${u}/move`, { entryId: entry, toPosition: 0 }],
        ['GET', `${u}/export.m3u8`],
      ];
      for (const [method, url, body] of attempts)
        expect((await call(method, url, b, body)).statusCode, `${method} ${url}`).toBe(404);
      expect((await call('GET', '/api/v1/playlists', b)).json().total).toBe(0);

      await call('PATCH', u, a, { isPublic: true });
      const seen = await call('GET', u, b);
      expect(seen.statusCode).toBe(200);
      expect(seen.json()).toMatchObject({ isOwner: false, ownerName: 'alice', name: 'Secret' });
      expect((await call('GET', '/api/v1/playlists', b)).json().items).toHaveLength(1);
      expect((await call('GET', `${u}/export.m3u8`, b)).statusCode).toBe(200);
      for (const [method, url, body] of attempts.slice(1, 6))
        expect((await call(method, url, b, body)).statusCode, `${method} ${url}`).toBe(403);
      expect((await call('GET', u, a)).json().trackCount).toBe(1);
      // Anonymous: 401.
      expect((await t!.app.inject({ url: u })).statusCode).toBe(401);
    });

    it('SECURITY 11: mass assignment: ownerId, createdAt, role, isAdmin, path in bodies are ignored', async () => {
      const { a, b, bob } = await setup();
      const res = await call('POST', '/api/v1/playlists', a, {
        name: 'Mine',
        ownerId: bob.id,
        createdAt: 1,
        role: 'admin',
        isAdmin: true,
        path: '/etc/passwd',
        id: 'chosenid',
      });
      expect(res.statusCode).toBe(201);
      const p = res.json();
      expect(p.ownerName).toBe('alice');
      expect(p.id).not.toBe('chosenid');
      expect(p.createdAt).not.toBe(1);
      const patched = await call('PATCH', `/api/v1/playlists/${p.id}`, a, {
        ownerId: bob.id,
        createdAt: 5,
        name: 'Still mine',
      });
      expect(patched.json()).toMatchObject({ name: 'Still mine', ownerName: 'alice' });
      expect((await call('GET', `/api/v1/playlists/${p.id}`, b)).statusCode).toBe(404);
    });
  });

  describe('M3U8', () => {
    it('SECURITY 15: exports with a safe Content-Disposition and imports back by path and by tags', async () => {
      const { a } = await setup();
      const db = t!.earshot.database.db;
      const x = await insertTrack(db, {
        title: 'Xylophone',
        artist: 'Ärzte',
        localPath: 'Ärzte/01 Xylophone.mp3',
        duration: 61.4,
      });
      const y = await insertTrack(db, { title: 'Yodel', artist: 'Yma', localPath: 'Yma/Yodel.flac' });
      const remote = await insertTrack(db, { title: 'Remote hit', artist: 'Web', source: 'youtube' });
      const gone = await insertTrack(db, { title: 'Gone', artist: 'Ghost' });
      const p = (await call('POST', '/api/v1/playlists', a, { name: 'a"; filename="x.html' })).json();
      await call('POST', `/api/v1/playlists/${p.id}/tracks`, a, { trackIds: [x, y, remote, gone, x] });
      await db.deleteFrom('tracks').where('id', '=', gone).execute();

      const res = await call('GET', `/api/v1/playlists/${p.id}/export.m3u8`, a);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^audio\/x-mpegurl/);
      const cd = String(res.headers['content-disposition']);
      expect(cd).toBe(
        `attachment; filename="a__ filename=_x.html.m3u8"; filename*=UTF-8''a%22%3B%20filename%3D%22x.html.m3u8`,
      );
      // Exactly one quoted parameter without inner quotes, then one RFC 5987 attr-char value.
      expect(cd).toMatch(/^attachment; filename="[^"\\]*"; filename\*=UTF-8''[A-Za-z0-9%!#$&+.^_`|~-]+$/);
      const text = res.body;
      expect(text.startsWith('#EXTM3U\n')).toBe(true);
      // Stream URLs for everyone: no library path reaches a non-admin (the JSON API hides them too).
      expect(text).toContain(`#EXTINF:61,Ärzte - Xylophone\n/stream/${x}\n`);
      expect(text).not.toContain('Ärzte/01 Xylophone.mp3');
      expect(text).not.toContain('Yma/Yodel.flac');
      expect(text).toContain(`/stream/${remote}`);
      expect(text).toContain('# unavailable: Ghost - Gone');

      // Round trip: same entries (minus the unavailable one), in order.
      const imported = await t!.app.inject({
        method: 'POST',
        url: '/api/v1/playlists/import?name=Copy',
        headers: { ...a, 'content-type': 'audio/x-mpegurl' },
        payload: text,
      });
      expect(imported.statusCode).toBe(201);
      expect(imported.json()).toMatchObject({ matched: 4, unmatched: [], playlist: { name: 'Copy', trackCount: 4 } });
      const copy = (await call('GET', `/api/v1/playlists/${imported.json().playlist.id}`, a)).json();
      expect(copy.entries.map((e: { track: { id: string } }) => e.track.id)).toEqual([x, y, remote, x]);
    });

    it('M3U export: absolute stream URLs with EARSHOT_PUBLIC_URL; library paths only for admins who ask (?paths=true)', async () => {
      t = await startTestServer({ env: { EARSHOT_PUBLIC_URL: 'https://music.example.org/' } });
      const alice = await t.createUser({ username: 'alice' });
      const root = await t.createUser({ username: 'root', role: 'admin' });
      const a = await t.authHeaders(alice);
      const r = await t.authHeaders(root);
      const db = t.earshot.database.db;
      const x = await insertTrack(db, { title: 'Xylophone', artist: 'Ärzte', localPath: 'Ärzte/01 Xylophone.mp3' });
      const remote = await insertTrack(db, { title: 'Remote hit', artist: 'Web', source: 'youtube' });
      const p = (await call('POST', '/api/v1/playlists', a, { name: 'Mix', isPublic: true })).json();
      await call('POST', `/api/v1/playlists/${p.id}/tracks`, a, { trackIds: [x, remote] });

      const plain = await call('GET', `/api/v1/playlists/${p.id}/export.m3u8`, a);
      expect(plain.body).toContain(`\nhttps://music.example.org/stream/${x}\n`);
      expect(plain.body).toContain(`\nhttps://music.example.org/stream/${remote}\n`);
      expect(plain.body).not.toContain('Xylophone.mp3');
      // A non-admin cannot ask for paths, even of their own playlist.
      const refused = await call('GET', `/api/v1/playlists/${p.id}/export.m3u8?paths=true`, a);
      expect(refused.statusCode).toBe(403);
      expect(refused.body).not.toContain('Xylophone.mp3');
      // An admin can: local files by library-relative path, remote ones keep their stream URL.
      const admin = await call('GET', `/api/v1/playlists/${p.id}/export.m3u8?paths=true`, r);
      expect(admin.statusCode).toBe(200);
      expect(admin.body).toContain('\nÄrzte/01 Xylophone.mp3\n');
      expect(admin.body).toContain(`\nhttps://music.example.org/stream/${remote}\n`);
      // Both forms import back to the same tracks.
      for (const text of [plain.body, admin.body]) {
        const imported = await t.app.inject({
          method: 'POST',
          url: '/api/v1/playlists/import',
          headers: { ...a, 'content-type': 'audio/x-mpegurl' },
          payload: text,
        });
        expect(imported.json()).toMatchObject({ matched: 2, unmatched: [] });
      }
    });

    it('imports foreign M3U: absolute paths inside the library, Windows separators, tag fallback, unmatched lines', async () => {
      const { a } = await setup();
      const db = t!.earshot.database.db;
      const musicDir = t!.earshot.paths.musicDir;
      const x = await insertTrack(db, { title: 'Xylophone', artist: 'Ärzte', localPath: 'Ärzte/01 Xylophone.mp3' });
      const y = await insertTrack(db, { title: 'Yodel', artist: 'Yma', localPath: 'Yma/Yodel.flac' });
      const z = await insertTrack(db, { title: 'Zither', artist: 'Zed', localPath: 'Zed/Zither.ogg' });
      const m3u = [
        '#EXTM3U',
        '#PLAYLIST:From another player',
        `#EXTINF:10,Ärzte - Xylophone`,
        `${musicDir}/Ärzte/01 Xylophone.mp3`,
        '#EXTINF:10,whatever',
        'Yma\\Yodel.flac',
        '#EXTINF:100,zed - ZITHER',
        'D:\\Old Music\\Zed\\zither (remaster).mp3',
        '#EXTINF:100,Nobody - Nothing',
        '/elsewhere/nothing.mp3',
        '../../etc/passwd',
        '%',
      ].join('\r\n');
      const res = await call('POST', '/api/v1/playlists/import', a, { m3u });
      expect(res.statusCode).toBe(201);
      const body = res.json();
      expect(body.playlist.name).toBe('From another player');
      expect(body.matched).toBe(3);
      expect(body.unmatched).toEqual([
        { line: 10, location: '/elsewhere/nothing.mp3', title: 'Nothing' },
        { line: 11, location: '../../etc/passwd', title: null },
        { line: 12, location: '%', title: null },
      ]);
      const detail = (await call('GET', `/api/v1/playlists/${body.playlist.id}`, a)).json();
      expect(detail.entries.map((e: { track: { id: string } }) => e.track.id)).toEqual([x, y, z]);
      expect((await call('POST', '/api/v1/playlists/import', a, { m3u: '  ' })).statusCode).toBe(400);
    });

    it('parses EXTINF attributes and encodes non-ASCII file names per RFC 5987', () => {
      const parsed = parseM3u('#EXTM3U\n#EXTINF:-1 tvg-name="a, b",Artist - A - Title\nhttp://x/stream/abc\n');
      expect(parsed.items).toEqual([
        { line: 3, location: 'http://x/stream/abc', artist: 'Artist', title: 'A - Title' },
      ]);
      expect(contentDisposition("Café (live)'s.m3u8")).toBe(
        `attachment; filename="Caf_ (live)'s.m3u8"; filename*=UTF-8''Caf%C3%A9%20%28live%29%27s.m3u8`,
      );
    });
  });
});

export type { TestUser };
