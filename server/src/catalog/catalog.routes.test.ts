import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeAudio } from '../test/audio.js';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import Fastify from 'fastify';
import { SearchResultSchema } from './catalog.schemas.js';
import { registerDtoSchemas } from './dto.js';
import { CatalogSearch, toFtsQuery } from './search.js';
import { toRankedJson } from './search-json.js';
import type { Ranked } from './search-ranker.js';
import { SqlRanker } from './search-sql-plan.js';
import { SearchReader } from './search-reader.js';
import { registerSqlFunctions } from '../db/sql-functions.js';
import { forEachServerEngine } from '../test/engines.js';
import { settleFiles } from '../test/settle.js';

let t: TestServer;
let alice: TestUser;
let admin: TestUser;
let as: Record<string, string>;
let asAdmin: Record<string, string>;

const get = async (url: string, headers = as) => {
  const res = await t.app.inject({ url, headers });
  return { status: res.statusCode, body: res.json() };
};

forEachServerEngine((engine) => {
  beforeAll(async () => {
    t = await startTestServer();
    const m = t.config.musicDir;
    await Promise.all([
      makeAudio(join(m, 'Beyonce/I Am/01.mp3'), {
        frequency: 200,
        tags: {
          title: 'Halo',
          artist: 'Beyoncé',
          album: 'I Am... Sasha Fierce',
          date: '2008',
          genre: 'Pop',
          track: '1',
          disc: '1',
        },
      }),
      makeAudio(join(m, 'Beyonce/I Am/02.mp3'), {
        frequency: 210,
        tags: {
          title: 'Disappear',
          artist: 'Beyoncé',
          album: 'I Am... Sasha Fierce',
          date: '2008',
          genre: 'Pop',
          track: '2',
          disc: '1',
        },
      }),
      makeAudio(join(m, 'Beyonce/I Am/03.mp3'), {
        frequency: 220,
        tags: {
          title: 'Ave Maria',
          artist: 'Beyoncé',
          album: 'I Am... Sasha Fierce',
          date: '2008',
          genre: 'Pop',
          track: '1',
          disc: '2',
          lyrics: 'Ave Maria lyrics',
        },
      }),
      makeAudio(join(m, 'Live/Halo Live/01.mp3'), {
        frequency: 230,
        tags: { title: 'Intro', artist: 'Somebody', album: 'Halo Live', date: '1999', genre: 'Rock' },
      }),
      makeAudio(join(m, 'ACDC/Back in Black/01.mp3'), {
        frequency: 240,
        tags: { title: 'Hells Bells', artist: 'AC/DC', album: 'Back in Black', date: '1980', genre: 'Rock' },
      }),
      makeAudio(join(m, 'Quotes/q.mp3'), {
        frequency: 250,
        tags: { title: 'Say "NEAR" -me OR *you*', artist: 'Tricky', album: 'Syntax' },
      }),
    ]);
    writeFileSync(join(m, 'Quotes/broken.mp3'), 'not audio');
    settleFiles(m); // dated back: the scanner reads files once settled (test/settle.ts)
    alice = await t.createUser({ username: 'alice' });
    admin = await t.createUser({ username: 'root', role: 'admin' });
    as = await t.authHeaders(alice);
    asAdmin = await t.authHeaders(admin);
    await t.earshot.library.service.runScan({ trigger: 'test' });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  describe('catalog API', () => {
    it('requires a signed-in user', async () => {
      for (const url of [
        '/api/v1/artists',
        '/api/v1/albums',
        '/api/v1/tracks',
        '/api/v1/genres',
        '/api/v1/search/local?q=halo',
      ]) {
        expect((await t.app.inject({ url })).statusCode).toBe(401);
      }
    });

    it('lists artists by name, album count and recency, with liked flags', async () => {
      const { body } = await get('/api/v1/artists?sort=name');
      expect(body.items.map((a: { name: string }) => a.name)).toEqual(['AC/DC', 'Beyoncé', 'Somebody', 'Tricky']);
      const beyonce = body.items[1];
      expect(beyonce).toMatchObject({ albumCount: 1, trackCount: 3, liked: false });
      await t.earshot.database.db
        .insertInto('user_activity')
        .values({ user_id: alice.id, item_type: 'artist', item_id: beyonce.id, is_liked: 1, liked_at: Date.now() })
        .execute();
      const again = await get('/api/v1/artists?sort=albumCount&limit=2');
      expect(again.body).toMatchObject({ total: 4, limit: 2, offset: 0 });
      const liked = (await get('/api/v1/artists')).body.items.find((a: { id: string }) => a.id === beyonce.id);
      expect(liked.liked).toBe(true);
      // Likes are per user.
      const other = (await get('/api/v1/artists', asAdmin)).body.items.find((a: { id: string }) => a.id === beyonce.id);
      expect(other.liked).toBe(false);
      const detail = await get(`/api/v1/artists/${beyonce.id}`);
      expect(detail.body.albums.map((a: { name: string }) => a.name)).toEqual(['I Am... Sasha Fierce']);
    });

    it('lists albums with sorts and filters; album detail orders tracks by disc then track', async () => {
      const byYear = await get('/api/v1/albums?sort=year');
      expect(byYear.body.items.map((a: { year: number | null }) => a.year)).toEqual([1980, 1999, 2008, null]);
      const byArtist = await get('/api/v1/albums?sort=artist');
      expect(byArtist.body.items[0].artist).toBe('AC/DC');
      const rock = await get('/api/v1/albums?genre=rock&sort=name');
      expect(rock.body.items.map((a: { name: string }) => a.name)).toEqual(['Back in Black', 'Halo Live']);
      const random = await get('/api/v1/albums?sort=random&limit=10');
      expect(random.body.total).toBe(4);
      const sasha = byYear.body.items[2];
      expect(sasha).toMatchObject({ discCount: 2, trackCount: 3 });
      const detail = await get(`/api/v1/albums/${sasha.id}`);
      expect(detail.body.tracks.map((x: { title: string }) => x.title)).toEqual(['Halo', 'Disappear', 'Ave Maria']);
      const byArtistId = await get(`/api/v1/albums?artistId=${sasha.artistId}`);
      expect(byArtistId.body.items.map((a: { id: string }) => a.id)).toEqual([sasha.id]);
    });

    it('lists tracks with sorts and filters; track detail has all tags and the path for admins only', async () => {
      const all = await get('/api/v1/tracks?sort=title');
      expect(all.body.total).toBe(6);
      expect(all.body.items[0].title).toBe('Ave Maria');
      const genres = await get('/api/v1/genres');
      const rock = genres.body.items.find((g: { name: string }) => g.name === 'Rock');
      expect(rock).toMatchObject({ trackCount: 2, albumCount: 2 });
      const rockTracks = await get(`/api/v1/tracks?genreId=${rock.id}&sort=recent`);
      expect(rockTracks.body.items.map((x: { title: string }) => x.title).sort()).toEqual(['Hells Bells', 'Intro']);
      const ave = all.body.items[0];
      const detail = await get(`/api/v1/tracks/${ave.id}`);
      expect(detail.body).toMatchObject({
        title: 'Ave Maria',
        discNumber: 2,
        lyrics: 'Ave Maria lyrics',
        genres: [{ name: 'Pop' }],
        artists: [{ name: 'Beyoncé' }],
      });
      expect(detail.body.path).toBeUndefined();
      const asAdminDetail = await get(`/api/v1/tracks/${ave.id}`, asAdmin);
      expect(asAdminDetail.body.path).toBe('Beyonce/I Am/03.mp3');
    });

    it('rejects sort keys outside the allow-list and odd ids, never a 500 (SECURITY.md 1, 3)', async () => {
      for (const url of [
        '/api/v1/tracks?sort=title;DROP%20TABLE%20tracks',
        '/api/v1/tracks?sort=password',
        "/api/v1/albums?sort=name'%20OR%201=1--",
        '/api/v1/artists?sort=id',
        '/api/v1/tracks?limit=100000',
        '/api/v1/albums?artistId=..%2F..%2Fetc%2Fpasswd',
      ]) {
        expect((await get(url)).status, url).toBe(400);
      }
      for (const url of [
        '/api/v1/tracks/..%2F..%2Fetc%2Fpasswd',
        '/api/v1/albums/%2e%2e%2f',
        '/api/v1/artists/..%5c',
        '/api/v1/tracks/%00',
      ]) {
        expect([400, 404]).toContain((await get(url)).status);
      }
      expect((await get('/api/v1/tracks/doesNotExist')).status).toBe(404);
      // Unknown parameters are ignored, not an error.
      expect((await get('/api/v1/tracks?sort=title&password=x&isAdmin=1')).status).toBe(200);
      expect((await t.earshot.database.db.selectFrom('tracks').select('id').execute()).length).toBe(6);
    });
  });

  describe('local search', () => {
    const search = async (q: string) => get(`/api/v1/search/local?q=${encodeURIComponent(q)}`);

    it('folds diacritics, matches prefixes and returns typed sections', async () => {
      const plain = await search('beyonce');
      expect(plain.body.artists.map((a: { name: string }) => a.name)).toEqual(['Beyoncé']);
      expect(plain.body.tracks).toHaveLength(3);
      const prefix = await search('sash fie');
      expect(prefix.body.albums.map((a: { name: string }) => a.name)).toEqual(['I Am... Sasha Fierce']);
      const genre = await search('roc');
      expect(genre.body.genres.map((g: { name: string }) => g.name)).toEqual(['Rock']);
      expect(genre.body.genres[0].trackCount).toBe(2);
      const accented = await search('BEYONCÉ halo');
      expect(accented.body.tracks.map((x: { title: string }) => x.title)).toEqual(['Halo']);
    });

    it('ranks a title match above an album match (bm25)', async () => {
      const res = await search('halo');
      expect(res.body.tracks.map((x: { title: string }) => x.title)).toEqual(['Halo', 'Intro']);
      expect(res.body.tracks[0]).toMatchObject({ artist: 'Beyoncé', liked: false, source: 'local' });
    });

    it('treats FTS syntax and SQL injection as literal text, never a 500 (SECURITY.md 3)', async () => {
      for (const q of [
        '"',
        '*',
        'NEAR',
        'NEAR(a b)',
        '-',
        '- halo',
        'title:halo',
        "' OR 1=1--",
        '"; DROP TABLE tracks; --',
        'halo OR x',
        '^',
        '()',
        '\u0000',
        'AND',
        'a'.repeat(400),
      ]) {
        const res = await search(q);
        expect(res.status, q).toBe(200);
        expect(res.body).toHaveProperty('tracks');
      }
      const near = await search('NEAR');
      expect(near.body.tracks.map((x: { title: string }) => x.title)).toEqual(['Say "NEAR" -me OR *you*']);
      const quoted = await search('"near" -me');
      expect(quoted.body.tracks).toHaveLength(1);
      expect((await search("' OR 1=1--")).body.tracks).toEqual([]);
      expect((await search('')).body).toEqual({ tracks: [], albums: [], artists: [], genres: [] });
      expect((await t.earshot.database.db.selectFrom('tracks').select('id').execute()).length).toBe(6);
    });

    it('sees every writer at once (index triggers, result cache invalidated by any write)', async () => {
      expect((await search('zebra')).body.tracks).toEqual([]);
      const now = Date.now();
      await t.earshot.database.db
        .insertInto('tracks')
        .values({
          id: 'remoteZebra1',
          source_type: 'youtube',
          remote_id: 'yt-zebra',
          title: 'Zebra Crossing',
          artist: 'Stripes',
          added_at: now,
          updated_at: now,
        })
        .execute();
      expect((await search('zebra')).body.tracks).toMatchObject([
        { id: 'remoteZebra1', source: 'youtube', cached: false },
      ]);
      await t.earshot.database.db
        .updateTable('tracks')
        .set({ title: 'Horse Crossing' })
        .where('id', '=', 'remoteZebra1')
        .execute();
      expect((await search('zebra')).body.tracks).toEqual([]);
      expect((await search('horse')).body.tracks).toHaveLength(1);
      await t.earshot.database.db.deleteFrom('tracks').where('id', '=', 'remoteZebra1').execute();
      expect((await search('horse')).body.tracks).toEqual([]);
    });

    it('sees writes by another process (the CLI) within a quarter of a second', async () => {
      expect((await search('okapi')).body.tracks).toEqual([]);
      // Another connection, as `earshot scan` in a second process would have.
      if (engine === 'postgres') {
        const other = new pg.Client({ connectionString: t.config.databaseUrl });
        await other.connect();
        try {
          await other.query(
            `insert into tracks (id, source_type, remote_id, title, added_at, updated_at)
             values ('remoteOkapi1', 'youtube', 'yt-okapi', 'Okapi Dance', 0, 0)`,
          );
          await vi.waitFor(async () => expect((await search('okapi')).body.tracks).toHaveLength(1), {
            timeout: 2000,
            interval: 50,
          });
          await other.query("delete from tracks where id = 'remoteOkapi1'");
          await new Promise((r) => setTimeout(r, 300));
          expect((await search('okapi')).body.tracks).toEqual([]);
        } finally {
          await other.end();
        }
        return;
      }
      const other = new SQLite(t.sqlite.name);
      registerSqlFunctions(other); // the search index triggers fold with it (migration 0017)
      try {
        other
          .prepare(
            `insert into tracks (id, source_type, remote_id, title, added_at, updated_at)
             values ('remoteOkapi1', 'youtube', 'yt-okapi', 'Okapi Dance', 0, 0)`,
          )
          .run();
        await vi.waitFor(async () => expect((await search('okapi')).body.tracks).toHaveLength(1), {
          timeout: 2000,
          interval: 50,
        });
        other.prepare("delete from tracks where id = 'remoteOkapi1'").run();
        await new Promise((r) => setTimeout(r, 300));
        expect((await search('okapi')).body.tracks).toEqual([]);
      } finally {
        other.close();
      }
    });

    it("carries each caller's liked flags: the cached answer is shared, the flags are not", async () => {
      const halo = (await search('halo')).body.tracks[0];
      expect(halo).toMatchObject({ title: 'Halo', liked: false });
      await t.earshot.database.db
        .insertInto('user_activity')
        .values({ user_id: alice.id, item_type: 'track', item_id: halo.id, is_liked: 1, liked_at: Date.now() })
        .execute();
      // The admin (no likes) asks first, so the answer and its JSON are cached with liked: false.
      const forAdmin = await get('/api/v1/search/local?q=halo', asAdmin);
      expect(forAdmin.body.tracks.map((x: { liked: boolean }) => x.liked)).toEqual([false, false]);
      const forAlice = await search('halo');
      expect(forAlice.body.tracks.map((x: { title: string; liked: boolean }) => [x.title, x.liked])).toEqual([
        ['Halo', true],
        ['Intro', false],
      ]);
      expect((await get('/api/v1/search/local?q=halo', asAdmin)).body).toEqual(forAdmin.body);
      // Alice liked the artist Beyoncé earlier in this file.
      expect((await search('beyonce')).body.artists).toMatchObject([{ name: 'Beyoncé', liked: true }]);
      expect((await get('/api/v1/search/local?q=beyonce', asAdmin)).body.artists).toMatchObject([{ liked: false }]);
      const direct = await t.earshot.catalog.search.search('halo', alice.id);
      expect(direct.tracks.map((x) => x.liked)).toEqual([true, false]);
    });

    // SQLite's FTS5 ranking internals (reader thread, mirrors, SQL ranker): PostgreSQL searches
    // with its own index (catalog/search-postgres, db/search-postgres.test.ts).
    it.skipIf(engine === 'postgres')(
      'ranks cache misses on the reader thread, with the same answers as the main connection',
      async () => {
        const { db } = t.earshot.database;
        const { sqlite } = t;
        // Without mirrors, so every miss goes to FTS5: on the reader thread, or inline.
        const onMain = new CatalogSearch({ db, sqlite, readerThread: false, mirrors: false });
        const threaded = new CatalogSearch({ db, sqlite, mirrors: false });
        try {
          // The first misses start the thread (ranked on the main connection while it starts).
          await threaded.search('halo', alice.id);
          expect(threaded.readerRunning).toBe(true);
          let attempt = 0;
          await vi.waitFor(
            async () => {
              // A different section size each time: a miss every time.
              await threaded.search('halo', alice.id, { tracks: 1 + (attempt++ % 150) });
              expect(threaded.readerAnswered).toBeGreaterThan(0);
            },
            { timeout: 30_000, interval: 50 },
          );
          const before = threaded.readerAnswered;
          for (const q of ['halo', 'beyoncé', 'b', 'sash fie', 'roc', 'ac dc', 'zzz', 'in']) {
            const expected = await onMain.search(q, alice.id, { genres: 5 });
            expect(await threaded.search(q, alice.id, { genres: 5 }), q).toEqual(expected);
          }
          expect(threaded.readerAnswered).toBeGreaterThan(before);
          expect(onMain.readerRunning).toBe(false);
          expect(onMain.readerAnswered).toBe(0);
        } finally {
          await threaded.close();
        }
        expect(threaded.readerRunning).toBe(false);
        // After close, queries are still answered (on the main connection).
        expect((await threaded.search('halo', null)).tracks[0].title).toBe('Halo');
      },
      90_000,
    );

    // SQLite's FTS5 ranking internals (reader thread, mirrors, SQL ranker): PostgreSQL searches
    // with its own index (catalog/search-postgres, db/search-postgres.test.ts).
    it.skipIf(engine === 'postgres')(
      'answers misses from the in-memory mirrors once built, with the same answers as FTS5',
      async () => {
        const { db } = t.earshot.database;
        const { sqlite } = t;
        const fts = new CatalogSearch({ db, sqlite, readerThread: false, mirrors: false });
        const mirrored = new CatalogSearch({ db, sqlite, readerThread: false });
        try {
          // The first search starts the build (steps between requests); until then FTS5 answers.
          await mirrored.search('halo', alice.id);
          await vi.waitFor(() => expect(mirrored.mirrorsWarm).toBe(true), { timeout: 10_000, interval: 20 });
          mirrored.dropAnswers();
          const before = mirrored.answeredInMemory;
          for (const q of ['halo', 'beyoncé', 'b', 'sash fie', 'roc', 'ac dc', 'zzz', 'in', 'BEYON']) {
            const expected = await fts.search(q, alice.id, { genres: 5 });
            expect(await mirrored.search(q, alice.id, { genres: 5 }), q).toEqual(expected);
          }
          expect(mirrored.answeredInMemory - before).toBe(9);
          expect(fts.answeredInMemory).toBe(0);
        } finally {
          await mirrored.close();
          await fts.close();
        }
      },
    );

    // SQLite's FTS5 ranking internals (reader thread, mirrors, SQL ranker): PostgreSQL searches
    // with its own index (catalog/search-postgres, db/search-postgres.test.ts).
    it.skipIf(engine === 'postgres')(
      "sends the reader thread's JSON as the route's own serializer would write it",
      async () => {
        // The reader answers with JSON.stringify bytes, sent as they are: they must be byte for byte what
        // fastify's schema serializer makes of the same answer (key order, nulls, numbers).
        const app = Fastify();
        registerDtoSchemas(app);
        let answer: Ranked = { tracks: [], albums: [], artists: [], genres: [] };
        app.get('/answer', { schema: { response: { 200: SearchResultSchema } } }, async () => answer);
        await app.ready();
        const ranker = new SqlRanker(t.sqlite);
        try {
          for (const q of ['zzz', 'beyoncé', 'b', 'sash fie', 'ac dc', 'halo']) {
            answer = ranker.rank(toFtsQuery(q) as string, [20, 10, 10, 5], 'test');
            const viaRoute = (await app.inject({ url: '/answer' })).body;
            expect(Buffer.from(toRankedJson(answer).json).toString(), q).toBe(viaRoute);
            // What the reader thread sends: the assembled bytes.
            const sent = ranker.rankJson(toFtsQuery(q) as string, [20, 10, 10, 5], 'test');
            expect(Buffer.from(sent.json).toString(), q).toBe(viaRoute);
          }
          expect(answer.tracks.length + answer.albums.length).toBeGreaterThan(0);
        } finally {
          await app.close();
        }
      },
    );

    // SQLite's FTS5 ranking internals (reader thread, mirrors, SQL ranker): PostgreSQL searches
    // with its own index (catalog/search-postgres, db/search-postgres.test.ts).
    it.skipIf(engine === 'postgres')(
      'stops the reader thread when search is idle and starts it again on demand',
      async () => {
        const reader = new SearchReader({ path: t.sqlite.name, cacheKib: 1000, idleMs: 20 });
        try {
          // While it starts, queries are refused (the caller ranks inline), then answered.
          await expect(reader.rank('"halo"*', [5, 0, 0, 0])).rejects.toThrow('starting');
          // Starting from sources (tsx compiles the worker's modules) takes seconds on a busy machine.
          const first = await vi.waitFor(() => reader.rank('"halo"*', [5, 0, 0, 0]), { timeout: 30_000, interval: 20 });
          expect(JSON.parse(Buffer.from(first.json).toString()).tracks.map((x: { title: string }) => x.title)).toEqual([
            'Halo',
            'Intro',
          ]);
          expect(first.ids.tracks).toHaveLength(2);
          await vi.waitFor(() => expect(reader.running).toBe(false), { timeout: 5000, interval: 20 });
          const again = await vi.waitFor(() => reader.rank('"hells"*', [5, 0, 0, 0]), {
            timeout: 30_000,
            interval: 20,
          });
          expect(JSON.parse(Buffer.from(again.json).toString()).tracks.map((x: { title: string }) => x.title)).toEqual([
            'Hells Bells',
          ]);
          expect(reader.running).toBe(true);
          expect(reader.answered).toBe(2);
        } finally {
          await reader.close();
        }
        await expect(reader.rank('"halo"*', [5, 0, 0, 0])).rejects.toThrow();
      },
      90_000,
    );

    it('is a service the federated search can call', async () => {
      const result = await t.earshot.catalog.search.search('hells', alice.id, {
        tracks: 5,
        albums: 0,
        artists: 0,
        genres: 0,
      });
      expect(result.tracks.map((x) => x.title)).toEqual(['Hells Bells']);
      expect(result.albums).toEqual([]);
    });
  });

  describe('scan control (admin)', () => {
    it('is admin-only', async () => {
      expect((await get('/api/v1/scan')).status).toBe(403);
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/scan', headers: as, payload: {} })).statusCode).toBe(
        403,
      );
      expect((await get('/api/v1/scan/errors')).status).toBe(403);
      expect((await t.app.inject({ url: '/api/v1/scan' })).statusCode).toBe(401);
    });

    it('shows status, the last run and unreadable files with reasons', async () => {
      const status = await get('/api/v1/scan', asAdmin);
      expect(status.body).toMatchObject({
        running: false,
        progress: null,
        lastRun: { state: 'done', added: 6, unreadable: 1 },
      });
      expect(Object.keys(status.body.lastRun.phaseMs)).toEqual(
        expect.arrayContaining(['walk', 'diff', 'read', 'prune', 'group']),
      );
      const errors = await get('/api/v1/scan/errors', asAdmin);
      expect(errors.body).toMatchObject({ total: 1, items: [{ path: 'Quotes/broken.mp3' }] });
      expect(errors.body.items[0].reason).toMatch(/no audio|unreadable/);
    });

    it('starts a scan (409 while one runs) and streams progress as server-sent events', async () => {
      const base = await t.listen();
      const events = await fetch(`${base}/api/v1/scan/events`, { headers: asAdmin });
      expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
      const reader = events.body!.getReader();
      const started = await t.app.inject({
        method: 'POST',
        url: '/api/v1/scan',
        headers: asAdmin,
        payload: { full: true, kind: 'evil', isAdmin: true },
      });
      expect(started.statusCode).toBe(202);
      expect(started.json()).toMatchObject({ kind: 'full', trigger: 'api' });
      const again = await t.app.inject({ method: 'POST', url: '/api/v1/scan', headers: asAdmin, payload: {} });
      expect(again.statusCode).toBe(409);
      let text = '';
      const decoder = new TextDecoder();
      while (!text.includes('event: done')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
      await reader.cancel();
      expect(text).toMatch(/^event: status\n/);
      const done = JSON.parse(/event: done\ndata: (.*)\n/.exec(text)![1]);
      expect(done).toMatchObject({ state: 'done', kind: 'full', updated: 6, added: 0 });
    });
  });
});
