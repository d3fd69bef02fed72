/**
 * What the Subsonic face keeps in memory (catalog-cache.ts, the credential cache in auth.ts) never
 * outlives a change: catalog writes (as the scanner makes them, on the server's connection) show
 * in the next answer, a user's own star shows at once, and a credential stops working the moment
 * its account is disabled — all after the same requests were answered from the cache.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachServerEngine } from '../test/engines.js';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { type RestCaller, restCaller } from '../test/subsonic/client.js';
import { buildLibrary, idsOf } from '../test/subsonic/library.js';

let t: TestServer;
let alice: TestUser;
let api: RestCaller;
let ids: Awaited<ReturnType<typeof idsOf>>;

forEachServerEngine((engine) => {
  beforeAll(async () => {
    t = await startTestServer({ env: { EARSHOT_SUBSONIC_REMOTE_SEARCH: 'false' } });
    alice = await t.createUser({ username: 'alice' });
    await buildLibrary(t);
    ids = await idsOf(t);
    api = restCaller(t, { apiKey: (await t.earshot.accounts.subsonic.createApiKey(alice.id)).key });
  });
  afterAll(() => t.close());

  type Album = { id: string; name: string; starred?: string };
  const list = async (type: string, q: Record<string, string | number> = {}) =>
    ((await api.json('getAlbumList2', { type, size: 50, ...q })).albumList2.album ?? []) as Album[];

  describe('catalog cache', () => {
    it('album lists follow renames, new albums and deletions made after they were cached', async () => {
      const names = async () => (await list('alphabeticalByName')).map((a) => a.name);
      expect(await names()).toEqual(['First Light', 'Second Wind', 'Third']);
      expect(await names()).toEqual(['First Light', 'Second Wind', 'Third']); // from the cache

      const db = t.earshot.database.db;
      await db.updateTable('albums').set({ name: 'Zenith' }).where('id', '=', ids.album('First Light').id).execute();
      expect(await names()).toEqual(['Second Wind', 'Third', 'Zenith']);
      expect((await api.json('getAlbumList2', { type: 'newest', size: 50 })).albumList2.album).toHaveLength(3);

      // A new album, newest of all: first in `newest`, and listed by the rows cache with its fields.
      const now = Date.now() + 60_000;
      await db
        .insertInto('albums')
        .values({
          id: 'albumcachetest000001',
          name: 'Fresh',
          sort_name: null,
          mbz_album_id: null,
          artwork_id: null,
          group_key: 'fresh-cache-test',
          album_artist: 'Alpha Band',
          artist_id: ids.track('Dawn').artist_id,
          year: 2030,
          genre: null,
          track_count: 0,
          duration: 0,
          added_at: now,
          updated_at: now,
        })
        .execute();
      const newest = await list('newest');
      expect(newest[0]).toMatchObject({ id: 'albumcachetest000001', name: 'Fresh', year: 2030 });
      expect((await list('byYear', { fromYear: 2029, toYear: 2031 })).map((a) => a.name)).toEqual(['Fresh']);

      await db.deleteFrom('albums').where('id', '=', 'albumcachetest000001').execute();
      expect((await list('newest')).map((a) => a.id)).not.toContain('albumcachetest000001');
      expect(await list('byYear', { fromYear: 2029, toYear: 2031 })).toEqual([]);
      await db
        .updateTable('albums')
        .set({ name: 'First Light' })
        .where('id', '=', ids.album('First Light').id)
        .execute();
      expect(await names()).toEqual(['First Light', 'Second Wind', 'Third']);
    });

    it('an offline sync (search3, empty query) pages through the kept orders and follows catalog changes', async () => {
      const sync = async () => {
        const r = (await api.json('search3', { query: '', songCount: 2, albumCount: 500, artistCount: 500 }))
          .searchResult3;
        const page2 = (
          await api.json('search3', { query: '', songCount: 2, songOffset: 2, albumCount: 0, artistCount: 0 })
        ).searchResult3;
        return {
          artists: (r.artist ?? []).map((a: { name: string }) => a.name),
          songs: [...(r.song ?? []), ...(page2.song ?? [])].map((s: { id: string }) => s.id),
        };
      };
      const before = await sync();
      expect(before.songs).toHaveLength(4);
      expect(new Set(before.songs).size).toBe(4);
      expect((await sync()).artists).toEqual(before.artists);
      const beta = before.artists.find((n: string) => n.startsWith('Beta'));
      expect(beta).toBeDefined();
      // An artist without albums leaves the artist list of the sync.
      await t.earshot.database.db.updateTable('artists').set({ album_count: 0 }).where('name', '=', beta).execute();
      expect((await sync()).artists).toEqual(before.artists.filter((n: string) => n !== beta));
      await t.earshot.database.db.updateTable('artists').set({ album_count: 1 }).where('name', '=', beta).execute();
      expect((await sync()).artists).toEqual(before.artists);
    });

    it('random lists distinct albums of the library, at most `size`', async () => {
      const all = new Set((await list('newest')).map((a) => a.id));
      for (let i = 0; i < 20; i++) {
        const picked = (await list('random', { size: 2 })).map((a) => a.id);
        expect(picked).toHaveLength(2);
        expect(new Set(picked).size).toBe(2);
        for (const id of picked) expect(all.has(id)).toBe(true);
      }
      expect(new Set((await list('random', { size: 10 })).map((a) => a.id))).toEqual(all);
    });

    it('songs in search3 follow a changed title; a first star shows at once', async () => {
      const dawn = ids.track('Dawn').id;
      const titleOf = async () =>
        ((await api.json('search3', { query: 'dawn' })).searchResult3.song as { id: string; title: string }[]).find(
          (s) => s.id === dawn,
        )?.title;
      expect(await titleOf()).toBe('Dawn');
      expect(await titleOf()).toBe('Dawn');
      await t.earshot.database.db
        .updateTable('tracks')
        .set({ title: 'Dawn (Remastered)' })
        .where('id', '=', dawn)
        .execute();
      expect(await titleOf()).toBe('Dawn (Remastered)');

      // Bob has no stars or plays: his lists need no annotation query, until his first star.
      const bob = await t.createUser({ username: 'bob-cache' });
      const bobApi = restCaller(t, { apiKey: (await t.earshot.accounts.subsonic.createApiKey(bob.id)).key });
      const second = ids.album('Second Wind').id;
      const starredOf = async () =>
        ((await bobApi.json('getAlbumList2', { type: 'newest', size: 50 })).albumList2.album as Album[]).find(
          (a) => a.id === second,
        )?.starred;
      expect(await starredOf()).toBeUndefined();
      expect(await starredOf()).toBeUndefined();
      await bobApi.json('star', { albumId: second });
      expect(await starredOf()).toMatch(/^\d{4}-\d\d-\d\dT/);
      // Alice's annotations are her own.
      expect(
        ((await api.json('getAlbumList2', { type: 'newest', size: 50 })).albumList2.album as Album[]).find(
          (a) => a.id === second,
        )?.starred,
      ).toBeUndefined();
    });

    it('a remembered credential stops working as soon as its account is disabled', async () => {
      const carol = await t.createUser({ username: 'carol' });
      const key = (await t.earshot.accounts.subsonic.createApiKey(carol.id)).key;
      const pw = (await t.earshot.accounts.subsonic.createAppPassword(carol.id)).password;
      const ping = async (q: Record<string, string>) =>
        (await restCaller(t, q).json('ping')).status === 'ok' ? 'ok' : 'refused';
      const token = { u: 'carol', t: createHashMd5(`${pw}fixedsalt`), s: 'fixedsalt' };
      for (let i = 0; i < 3; i++) {
        expect(await ping({ apiKey: key })).toBe('ok');
        expect(await ping(token)).toBe('ok');
      }
      // Disabled behind the services' back, on the server's own connection: still refused at once
      // (on PostgreSQL through its Kysely, whose changed-rows count the write watch checks).
      if (engine === 'sqlite') t.sqlite.prepare('update users set disabled = 1 where id = ?').run(carol.id);
      else await t.earshot.database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', carol.id).execute();
      expect(await ping({ apiKey: key })).toBe('refused');
      expect(await ping(token)).toBe('refused');
    });
  });

  const createHashMd5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
});
