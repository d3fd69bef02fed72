/**
 * search3 and getAlbumList2 serve pre-rendered items (fragments.ts) and only the ranked ids of the
 * catalog search: their answers must be byte-for-byte what the catalog services give when read
 * and rendered afresh — ranked sections from `CatalogSearch.search` (the JSON API's search), rows,
 * credits, genres and the caller's annotations from `BrowseRepository`, rendered by the mappers
 * and the envelope writer — in JSON and XML, for a user with stars, ratings and plays and one with
 * none, on first (cold) and repeated (warm) requests, and after a rename and a new star.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachServerEngine } from '../test/engines.js';
import type { AlbumListType } from '../catalog/browse.repository.js';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { type Query, type RestCaller, restCaller } from '../test/subsonic/client.js';
import { buildLibrary, FILES, idsOf } from '../test/subsonic/library.js';
import { type Format, type Node, render } from './envelope.js';
import { albumNode, artistId3Node, songNode } from './mappers.js';

let t: TestServer;
let alice: TestUser;
let bob: TestUser;
let aliceApi: RestCaller;
let bobApi: RestCaller;
let serverVersion: string;

forEachServerEngine(() => {
  beforeAll(async () => {
    t = await startTestServer({ env: { EARSHOT_SUBSONIC_REMOTE_SEARCH: 'false' } });
    alice = await t.createUser({ username: 'alice' });
    bob = await t.createUser({ username: 'bob' });
    await buildLibrary(t);
    aliceApi = restCaller(t, { apiKey: (await t.earshot.accounts.subsonic.createApiKey(alice.id)).key });
    bobApi = restCaller(t, { apiKey: (await t.earshot.accounts.subsonic.createApiKey(bob.id)).key });
    serverVersion = (await aliceApi.json('ping')).serverVersion;
    // Alice stars, rates and plays a few things; Bob has no activity at all.
    const ids = await idsOf(t);
    await aliceApi.json('star', {
      id: ids.track('Dawn').id,
      albumId: ids.album('First Light').id,
      artistId: ids.artist('Alpha Band').id,
    });
    await aliceApi.json('setRating', { id: ids.track('Gale').id, rating: 4 });
    await aliceApi.json('setRating', { id: ids.album('Second Wind').id, rating: 2 });
    await aliceApi.json('scrobble', { id: ids.track('Echo').id, submission: 'true' });
  }, 300_000);
  afterAll(() => t.close());

  /** The whole answer as the catalog services give it, rendered afresh (no Subsonic caches). */
  async function expected(format: Format, payload: () => Promise<Node>): Promise<string> {
    return render({ status: 'ok', serverVersion, payload: await payload() }, format).body;
  }

  async function songNodesFresh(userId: string, ids: readonly string[]): Promise<Node[]> {
    const b = t.earshot.catalog.browse;
    const [rows, credits, genres, ann] = await Promise.all([
      b.songs([...ids]),
      b.creditsOf([...ids]),
      b.genresOf([...ids]),
      b.annotations(userId, 'track', [...ids]),
    ]);
    return rows.map((r) => songNode(r, ann, credits.get(r.id) ?? [], genres.get(r.id)));
  }

  async function albumNodesFresh(userId: string, ids: readonly string[]): Promise<Node[]> {
    const b = t.earshot.catalog.browse;
    const [rows, ann] = await Promise.all([b.albumsByIds([...ids]), b.annotations(userId, 'album', [...ids])]);
    return rows.map((r) => albumNode(r, ann.get(r.id)));
  }

  async function artistNodesFresh(userId: string, ids: readonly string[]): Promise<Node[]> {
    const b = t.earshot.catalog.browse;
    const [rows, ann] = await Promise.all([b.artistsByIds([...ids]), b.annotations(userId, 'artist', [...ids])]);
    return rows.map((r) => artistId3Node(r, ann.get(r.id)));
  }

  interface Page {
    query: string;
    songCount: number;
    songOffset: number;
    albumCount: number;
    albumOffset: number;
    artistCount: number;
    artistOffset: number;
  }

  const page = (query: string, o: Partial<Page> = {}): Page => ({
    query,
    songCount: 20,
    songOffset: 0,
    albumCount: 20,
    albumOffset: 0,
    artistCount: 20,
    artistOffset: 0,
    ...o,
  });

  async function expectedSearch3(format: Format, userId: string, p: Page): Promise<string> {
    const window = (count: number, offset: number) => (count === 0 ? 0 : Math.min(200, offset + count));
    const hits = await t.earshot.catalog.search.search(p.query, userId, {
      tracks: window(p.songCount, p.songOffset),
      albums: window(p.albumCount, p.albumOffset),
      artists: window(p.artistCount, p.artistOffset),
      genres: 0,
    });
    const ids = <T extends { id: string }>(list: T[], count: number, offset: number) =>
      list.slice(offset, offset + count).map((x) => x.id);
    return expected(format, async () => ({
      searchResult3: {
        artist: await artistNodesFresh(userId, ids(hits.artists, p.artistCount, p.artistOffset)),
        album: await albumNodesFresh(userId, ids(hits.albums, p.albumCount, p.albumOffset)),
        song: await songNodesFresh(userId, ids(hits.tracks, p.songCount, p.songOffset)),
      },
    }));
  }

  /** The answer's text (XML: schema-checked once per method and user below; a valid text compared byte for byte). */
  async function body(api: RestCaller, method: string, format: Format, q: Query): Promise<string> {
    const res = await api.raw(method, { ...q, f: format });
    expect(res.statusCode).toBe(200);
    return res.body;
  }

  const PAGES = [
    page('alpha'),
    page('a', { songCount: 2, songOffset: 1, albumCount: 1, albumOffset: 1, artistCount: 1, artistOffset: 1 }),
    page('gale'),
    page('the gamma'),
    page('e', { songCount: 3 }),
    page('zzzz'),
  ];

  const users = () =>
    [
      ['alice (stars, ratings, plays)', alice, aliceApi],
      ['bob (no activity)', bob, bobApi],
    ] as const;

  async function checkSearch3(): Promise<void> {
    for (const [, user, api] of users()) {
      for (const format of ['json', 'xml'] as const) {
        for (const p of PAGES) {
          const want = await expectedSearch3(format, user.id, p);
          // Cold, then from the kept rows and fragments.
          expect(await body(api, 'search3', format, { ...p })).toBe(want);
          expect(await body(api, 'search3', format, { ...p })).toBe(want);
        }
      }
    }
  }

  const LISTS: { type: AlbumListType; q?: Query }[] = [
    { type: 'newest' },
    { type: 'alphabeticalByName' },
    { type: 'alphabeticalByArtist' },
    { type: 'byYear', q: { fromYear: 1995, toYear: 2005 } },
    { type: 'byGenre', q: { genre: 'Rock' } },
    { type: 'starred' },
    { type: 'highest' },
  ];

  async function checkAlbumLists(): Promise<void> {
    for (const [, user, api] of users()) {
      for (const format of ['json', 'xml'] as const) {
        for (const { type, q = {} } of LISTS) {
          for (const [size, offset] of [
            [50, 0],
            [2, 1],
          ]) {
            const rows = await t.earshot.catalog.browse.albumList(type, user.id, {
              size,
              offset,
              fromYear: q.fromYear as number | undefined,
              toYear: q.toYear as number | undefined,
              genre: q.genre as string | undefined,
            });
            const want = await expected(format, async () => ({
              albumList2: {
                album: await albumNodesFresh(
                  user.id,
                  rows.map((r) => r.id),
                ),
              },
            }));
            const query = { type, size, offset, ...q };
            expect(await body(api, 'getAlbumList2', format, query)).toBe(want);
            expect(await body(api, 'getAlbumList2', format, query)).toBe(want);
          }
        }
      }
    }
  }

  describe('search3 and getAlbumList2 answers', () => {
    it('equal the catalog services rendered afresh (JSON and XML, cold and warm, with and without annotations)', async () => {
      // Not a vacuous comparison: the pages list what the library holds, with Alice's annotations.
      const find = (list: { title?: string; name?: string }[], name: string) =>
        list.find((x) => (x.title ?? x.name) === name) as Record<string, unknown>;
      const all = (await aliceApi.json('search3', { query: '' })).searchResult3;
      expect(all.song).toHaveLength(FILES.length);
      const alpha = (await aliceApi.json('search3', { query: 'alpha' })).searchResult3;
      expect(find(alpha.song, 'Dawn').starred).toMatch(/^\d{4}-/);
      expect(find(alpha.album, 'First Light').starred).toMatch(/^\d{4}-/);
      expect(find(alpha.artist, 'Alpha Band').starred).toMatch(/^\d{4}-/);
      expect(find((await aliceApi.json('search3', { query: 'gale' })).searchResult3.song, 'Gale').userRating).toBe(4);
      expect(find((await aliceApi.json('search3', { query: 'echo' })).searchResult3.song, 'Echo').playCount).toBe(1);
      const bobs = (await bobApi.json('search3', { query: 'alpha' })).searchResult3;
      expect(find(bobs.song, 'Dawn').starred).toBeUndefined();
      expect(bobs.song.every((s: { genres: unknown[] }) => s.genres.length > 0)).toBe(true);

      for (const [, , api] of users()) {
        await api.xml('search3', { query: 'alpha' }); // validated against the XSD
        await api.xml('getAlbumList2', { type: 'newest', size: 50 });
      }
      await checkSearch3();
      await checkAlbumLists();
    }, 120_000);

    it('stay equal after a rename (the kept text is not reused) and after a first star (built afresh)', async () => {
      await checkSearch3(); // everything kept and rendered
      await checkAlbumLists();
      const ids = await idsOf(t);
      const db = t.earshot.database.db;
      await db.updateTable('tracks').set({ title: 'Dawn (Live)' }).where('id', '=', ids.track('Dawn').id).execute();
      await db
        .updateTable('albums')
        .set({ name: 'Second Gust' })
        .where('id', '=', ids.album('Second Wind').id)
        .execute();
      const titles = (await bobApi.json('search3', { query: 'alpha' })).searchResult3.song.map(
        (s: { title: string }) => s.title,
      );
      expect(titles).toContain('Dawn (Live)');
      await bobApi.json('star', { id: ids.track('Rock').id, albumId: ids.album('Third').id });
      const starred = (await bobApi.json('search3', { query: 'alpha' })).searchResult3.song.find(
        (s: { id: string }) => s.id === ids.track('Rock').id,
      );
      expect(starred.starred).toMatch(/^\d{4}-/);
      await checkSearch3();
      await checkAlbumLists();
    }, 120_000);
  });
});
