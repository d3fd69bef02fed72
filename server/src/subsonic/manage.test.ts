/**
 * Playlists, play queue (both forms), bookmarks, shares, users and scanning through `/rest`,
 * including form POST (`formPost`) and a non-admin calling every admin method (error 50).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachServerEngine } from '../test/engines.js';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { queryString, type RestCaller, restCaller } from '../test/subsonic/client.js';
import { buildLibrary, idsOf } from '../test/subsonic/library.js';
import { assertValidXml } from '../test/subsonic/xsd.js';

let t: TestServer;
let alice: TestUser;
let api: RestCaller;
let admin: RestCaller;
let ids: Awaited<ReturnType<typeof idsOf>>;

forEachServerEngine(() => {
  beforeAll(async () => {
    t = await startTestServer({ env: { EARSHOT_SUBSONIC_REMOTE_SEARCH: 'false' } });
    alice = await t.createUser({ username: 'alice' });
    const root = await t.createUser({ username: 'root', role: 'admin' });
    await buildLibrary(t);
    ids = await idsOf(t);
    api = restCaller(t, { apiKey: (await t.earshot.accounts.subsonic.createApiKey(alice.id)).key });
    admin = restCaller(t, { apiKey: (await t.earshot.accounts.subsonic.createApiKey(root.id)).key });
  });
  afterAll(() => t.close());

  describe('playlists', () => {
    it('create with songs, read, update (rename, add, remove by index), replace, delete', async () => {
      const dawn = ids.track('Dawn').id;
      const gale = ids.track('Gale').id;
      const echo = ids.track('Echo').id;
      const created = await api.json('createPlaylist', { name: 'Road trip', songId: [dawn, gale] });
      const id = created.playlist.id;
      expect(created.playlist).toMatchObject({ name: 'Road trip', owner: 'alice', songCount: 2, public: false });
      expect(created.playlist.entry.map((e: { id: string }) => e.id)).toEqual([dawn, gale]);
      await api.xml('getPlaylist', { id });

      await api.xml('updatePlaylist', {
        playlistId: id,
        name: 'Road trip 2',
        comment: 'for the car',
        public: 'true',
        songIdToAdd: [echo, dawn],
        songIndexToRemove: 0,
      });
      const after = await api.json('getPlaylist', { id });
      expect(after.playlist).toMatchObject({ name: 'Road trip 2', comment: 'for the car', public: true, songCount: 3 });
      expect(after.playlist.entry.map((e: { id: string }) => e.id)).toEqual([gale, echo, dawn]);

      // sublime-music replaces the songs with createPlaylist?playlistId=…
      await api.json('createPlaylist', { playlistId: id, songId: [echo] });
      expect((await api.json('getPlaylist', { id })).playlist.entry.map((e: { id: string }) => e.id)).toEqual([echo]);

      const list = await api.json('getPlaylists');
      expect(list.playlists.playlist.map((p: { id: string }) => p.id)).toEqual([id]);
      await api.xml('getPlaylists');

      const bob = await t.createUser({ username: 'bob' });
      const bobApi = restCaller(t, { apiKey: (await t.earshot.accounts.subsonic.createApiKey(bob.id)).key });
      const readonly = await bobApi.json('getPlaylist', { id });
      expect(readonly.playlist.readonly).toBe(true);
      const denied = await bobApi.raw('deletePlaylist', { id, f: 'json' });
      expect(denied.json()['subsonic-response'].error.code).toBe(50);
      const bobOthers = await bobApi.raw('getPlaylists', { username: 'alice', f: 'json' });
      expect(bobOthers.json()['subsonic-response'].error.code).toBe(50);

      const bad = await api.raw('updatePlaylist', { playlistId: id, songIndexToRemove: 7, f: 'json' });
      expect(bad.json()['subsonic-response'].error.code).toBe(0);
      await api.xml('deletePlaylist', { id });
      const gone = await api.raw('getPlaylist', { id, f: 'json' });
      expect(gone.json()['subsonic-response'].error.code).toBe(70);
    });

    it('accepts every parameter as a form POST body (formPost), merged with the query', async () => {
      const body = queryString({ name: 'Posted', songId: [ids.track('Dawn').id, ids.track('Echo').id], f: 'json' });
      const res = await t.app.inject({
        method: 'POST',
        url: `/rest/createPlaylist.view?${queryString({ v: '1.16.1', c: 'vitest', u: 'alice', apiKey: 'x' }).replace(/&?u=alice/, '')}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: body,
      });
      // apiKey=x in the query is a wrong key: 44, proving the query still counts.
      expect(res.json()['subsonic-response'].error.code).toBe(44);
      const key = (await t.earshot.accounts.subsonic.createApiKey(alice.id)).key;
      const ok = await t.app.inject({
        method: 'POST',
        url: '/rest/createPlaylist',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `${body}&${queryString({ v: '1.16.1', c: 'vitest', apiKey: key })}`,
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()['subsonic-response'].playlist).toMatchObject({ name: 'Posted', songCount: 2 });
    });
  });

  describe('play queue and bookmarks', () => {
    it('saves and restores the queue by id and by index; no ids clears it', async () => {
      const [a, b, c] = [ids.track('Dawn').id, ids.track('Gale').id, ids.track('Echo').id];
      await api.xml('savePlayQueue', { id: [a, b, c], current: b, position: 61_500 });
      const q = await api.json('getPlayQueue');
      expect(q.playQueue).toMatchObject({ current: b, position: 61_500, username: 'alice', changedBy: 'vitest' });
      expect(q.playQueue.entry.map((e: { id: string }) => e.id)).toEqual([a, b, c]);
      await api.xml('getPlayQueue');
      const byIndex = await api.json('getPlayQueueByIndex');
      expect(byIndex.playQueueByIndex).toMatchObject({ currentIndex: 1, position: 61_500 });

      await api.json('savePlayQueueByIndex', { id: [c, a], currentIndex: 1, position: 5 });
      expect((await api.json('getPlayQueue')).playQueue).toMatchObject({ current: a, position: 5 });
      const missing = await api.raw('savePlayQueue', { id: [a], f: 'json' });
      expect(missing.json()['subsonic-response'].error.code).toBe(10);
      const outside = await api.raw('savePlayQueueByIndex', { id: [a], currentIndex: 3, f: 'json' });
      expect(outside.json()['subsonic-response'].error.code).toBe(0);

      await api.json('savePlayQueue');
      expect(await api.json('getPlayQueue')).not.toHaveProperty('playQueue');
    });

    it('bookmarks: create, update, list with the song, delete', async () => {
      const gale = ids.track('Gale').id;
      await api.xml('createBookmark', { id: gale, position: 1234, comment: 'chapter 2' });
      await api.json('createBookmark', { id: gale, position: 2000 });
      const list = await api.json('getBookmarks');
      expect(list.bookmarks.bookmark).toMatchObject([{ position: 2000, username: 'alice', entry: { id: gale } }]);
      await api.xml('getBookmarks');
      await api.xml('deleteBookmark', { id: gale });
      expect((await api.json('getBookmarks')).bookmarks).toEqual({});
      const none = await api.raw('deleteBookmark', { id: gale, f: 'json' });
      expect(none.json()['subsonic-response'].error.code).toBe(70);
    });
  });

  describe('shares', () => {
    it('createShare makes a working public link; getShares lists it with entries; deleteShare revokes', async () => {
      const album = ids.album('First Light').id;
      const created = await api.json('createShare', { id: album, expires: Date.now() + 3 * 86_400_000 });
      const share = created.shares.share[0];
      expect(share).toMatchObject({ username: 'alice', description: 'First Light', visitCount: 0 });
      expect(share.entry).toHaveLength(2);
      expect(share.url).toMatch(/\/share\//);
      const page = await t.app.inject({ url: new URL(share.url, 'http://x').pathname });
      expect(page.statusCode).toBe(200);
      await api.xml('getShares');
      await api.xml('deleteShare', { id: share.id });
      expect((await api.json('getShares')).shares).toEqual({});
      expect((await t.app.inject({ url: new URL(share.url, 'http://x').pathname })).statusCode).toBe(410);
    });
  });

  describe('updateShare', () => {
    const listed = async (id: string) =>
      (await api.json('getShares')).shares.share.find((s: { id: string }) => s.id === id) as Record<string, unknown>;

    it('changes the description and the expiry (0 = never); absent parameters keep theirs', async () => {
      const track = ids.track('Dawn').id;
      const in3Days = Date.now() + 3 * 86_400_000;
      const created = (await api.json('createShare', { id: track, description: 'for Sam', expires: in3Days })).shares
        .share[0];
      expect(created.description).toBe('for Sam');
      expect(Date.parse(created.expires)).toBeGreaterThan(Date.now() + 2 * 86_400_000);

      const in10Days = Date.now() + 10 * 86_400_000;
      expect(
        await api.json('updateShare', { id: created.id, description: 'for Sam & Alex', expires: in10Days }),
      ).toMatchObject({
        status: 'ok',
      });
      let now = await listed(created.id);
      expect(now.description).toBe('for Sam & Alex');
      expect(Date.parse(now.expires as string)).toBe(Math.floor(in10Days / 1000) * 1000);
      await api.xml('getShares');

      // Only the description: the expiry stays.
      await api.xml('updateShare', { id: created.id, description: 'for everyone' });
      now = await listed(created.id);
      expect(now.description).toBe('for everyone');
      expect(Date.parse(now.expires as string)).toBe(Math.floor(in10Days / 1000) * 1000);

      // expires=0: never expires; an empty description falls back to the item's title.
      await api.xml('updateShare', { id: created.id, expires: 0, description: '' });
      now = await listed(created.id);
      expect(now.expires).toBeUndefined();
      expect(now.description).toBe('Dawn');
      const row = await t.earshot.database.db
        .selectFrom('shares')
        .select(['expires_at', 'description'])
        .where('id', '=', created.id)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ expires_at: null, description: null });
      // The public link still works.
      expect((await t.app.inject({ url: new URL(created.url, 'http://x').pathname })).statusCode).toBe(200);
    });

    it("refuses a past expiry, an unknown or revoked share, and someone else's share (nothing changes)", async () => {
      const created = (await api.json('createShare', { id: ids.track('Gale').id, description: 'mine' })).shares
        .share[0];
      const code = async (caller: RestCaller, q: Record<string, string | number>) =>
        (await caller.raw('updateShare', { ...q, f: 'json' })).json()['subsonic-response'].error?.code;
      expect(await code(api, { id: created.id, expires: Date.now() - 60_000 })).toBe(0);
      expect(await code(api, { id: 'nope' })).toBe(70);
      expect(await code(api, {})).toBe(10);
      const carol = await t.createUser({ username: 'carol' });
      const carolApi = restCaller(t, { apiKey: (await t.earshot.accounts.subsonic.createApiKey(carol.id)).key });
      expect(await code(carolApi, { id: created.id, description: 'hijacked' })).toBe(70);
      expect((await listed(created.id)).description).toBe('mine');
      await api.xml('deleteShare', { id: created.id });
      expect(await code(api, { id: created.id, description: 'after revoke' })).toBe(70);
    });
  });

  describe('users and scanning', () => {
    const ADMIN_ONLY: [string, Record<string, string>][] = [
      ['getUsers', {}],
      ['getUser', { username: 'root' }],
      ['createUser', { username: 'mallory', password: 'long-enough-pw', email: 'm@example.org' }],
      ['updateUser', { username: 'root', adminRole: 'false' }],
      ['deleteUser', { username: 'root' }],
      ['changePassword', { username: 'root', password: 'taken-over-pw' }],
      ['startScan', {}],
    ];

    it.each(ADMIN_ONLY)('a non-admin calling %s gets error 50 and changes nothing', async (method, q) => {
      const r = await api.raw(method, { ...q, f: 'json' });
      expect(r.statusCode).toBe(200);
      expect(r.json()['subsonic-response'].error.code).toBe(50);
      const xml = await api.raw(method, q);
      assertValidXml(xml.body);
      const root = await t.earshot.database.db
        .selectFrom('users')
        .select('role')
        .where('username', '=', 'root')
        .executeTakeFirst();
      expect(root?.role).toBe('admin');
      expect(
        await t.earshot.database.db
          .selectFrom('users')
          .select('id')
          .where('username', '=', 'mallory')
          .executeTakeFirst(),
      ).toBeUndefined();
    });

    it('getUser shows own roles; an admin manages users', async () => {
      const me = await api.json('getUser', { username: 'alice' });
      expect(me.user).toMatchObject({ username: 'alice', adminRole: false, streamRole: true, folder: [1] });
      await admin.xml('createUser', {
        username: 'dora',
        password: `enc:${Buffer.from('dora-password').toString('hex')}`,
        email: 'd@x.org',
      });
      const login = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: 'dora', password: 'dora-password' },
      });
      expect(login.statusCode).toBe(200);
      await admin.xml('updateUser', { username: 'dora', adminRole: 'true' });
      const users = await admin.json('getUsers');
      expect(users.users.user.find((u: { username: string }) => u.username === 'dora')).toMatchObject({
        adminRole: true,
      });
      await admin.xml('getUsers');
      await admin.xml('changePassword', { username: 'dora', password: 'dora-password-2' });
      await admin.xml('deleteUser', { username: 'dora' });
      expect((await admin.raw('getUser', { username: 'dora', f: 'json' })).json()['subsonic-response'].error.code).toBe(
        70,
      );
      const dup = await admin.raw('createUser', {
        username: 'alice',
        password: 'whatever-pw',
        email: 'a@x',
        f: 'json',
      });
      expect(dup.json()['subsonic-response'].error.code).toBe(0);
    });

    it('getScanStatus reports the track count; an admin starts a scan', async () => {
      expect((await api.json('getScanStatus')).scanStatus).toEqual({ scanning: false, count: 4 });
      const started = await admin.json('startScan');
      expect(started.scanStatus).toHaveProperty('scanning');
      await admin.xml('getScanStatus');
    });

    it('radio, podcasts and videos are empty lists; jukebox is error 0', async () => {
      expect((await api.json('getInternetRadioStations')).internetRadioStations).toEqual({});
      expect((await api.json('getPodcasts')).podcasts).toEqual({});
      const jukebox = await api.raw('jukeboxControl', { action: 'get', f: 'json' });
      expect(jukebox.json()['subsonic-response'].error).toMatchObject({
        code: 0,
        message: 'Jukebox is not supported by this server.',
      });
    });
  });
});
