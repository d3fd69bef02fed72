/**
 * The PostgreSQL search mirror (search-pg-mirror.ts) on a real migrated PostgreSQL database: for
 * a random query set over a library with repeated words, diacritics, random Unicode titles, ties
 * and broad words, it must give the very bytes of the SQL plan (search-pg-plan.ts: `ts_rank`
 * recomputed bit for bit, the same broad order); it must stop answering within the poll when
 * another connection (another replica) writes to the catalog, and answer with the write once
 * rebuilt.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnyDatabase, connectDatabase } from '../db/engine.js';
import { hasPostgres, postgresEngine } from '../test/engines.js';
import { PgCatalogSearch } from './search-pg.js';

const WORDS = ['Midnight', 'Lovely', 'Blue', 'Café', 'Øresund', 'Ñu', 'Straße', 'Glass', 'Shadow', 'Über', 'Земфира'];
const GENRES = ['Rock', 'Jazz', 'Électro', 'Hip-Hop', 'Blues Rock'];
/** Letters both engines fold (as search-engines.test.ts): accents, CJK, astral, fullwidth, ligatures. */
const ALPHABET = [
  ...'abcdeéèñz09',
  'Ж',
  '中',
  '\u{20000}',
  '\u{1D400}',
  '\uFF21',
  '\uFB01',
  'e\u0301',
  '\u00B2',
  '\uFF76',
];
const word = fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 4 }).map((cs) => cs.join(''));
const text = fc.array(word, { minLength: 1, maxLength: 4 }).map((ws) => ws.join(' '));

const decode = (x: string | Buffer) => (typeof x === 'string' ? x : x.toString('utf8'));
const serialize = (s: unknown) => JSON.stringify(s);

describe.skipIf(!hasPostgres())('PostgreSQL search mirror', () => {
  let database: AnyDatabase & { rawUrl?: string };
  let sqlPlan: PgCatalogSearch;
  let mirrored: PgCatalogSearch;
  let randomWords: string[];

  beforeAll(async () => {
    database = await postgresEngine.open();
    const { db } = database;
    await db
      .insertInto('genres')
      .values(GENRES.map((g, i) => ({ id: `g${i}`, name: g, name_key: g.toLowerCase(), track_count: 10 + i })) as never)
      .execute();
    // Artists with equal scores ("<word> Band N") and different track counts: ties.
    const artists = Array.from({ length: 60 }, (_, a) => {
      const name = `${WORDS[a % WORDS.length]} Band ${a % 7}`;
      return {
        id: `a${a}`,
        name,
        name_key: `${name.toLowerCase()}${a}`,
        track_count: (a * 7) % 13,
        added_at: 0,
        updated_at: 0,
      };
    });
    await db
      .insertInto('artists')
      .values(artists as never)
      .execute();
    const albums = Array.from({ length: 120 }, (_, b) => ({
      id: `al${b}`,
      name: `${WORDS[b % WORDS.length]} ${WORDS[(b * 3 + 1) % WORDS.length]} ${b % 5 === 0 ? 'Deluxe Edition' : ''}`.trim(),
      group_key: `k${b}`,
      album_artist: `${WORDS[b % WORDS.length]} Band ${b % 60}`,
      genre: GENRES[b % GENRES.length],
      added_at: 0,
      updated_at: 0,
    }));
    await db
      .insertInto('albums')
      .values(albums as never)
      .execute();
    // 1,800 tracks: "Lovely" is in more than BROAD_MATCHES of them (a broad word); words repeat
    // inside titles (ts_rank's sums over positions and word distances); then random Unicode titles.
    const titles = fc.sample(text, { numRuns: 300, seed: 190 });
    randomWords = titles.flatMap((t) => t.split(' '));
    const tracks = [];
    for (let t = 0; t < 1800 + titles.length; t++) {
      const w1 = WORDS[t % WORDS.length];
      const w2 = WORDS[(t * 7 + 3) % WORDS.length];
      const title =
        t >= 1800
          ? titles[t - 1800]
          : t % 10 === 0
            ? `${w1} ${t}`
            : t % 13 === 0
              ? `${w1} ${w2} ${w1} Lovely ${w1}`
              : `${w1} Lovely ${w2} ${t}`;
      tracks.push({
        id: `t${String(t).padStart(5, '0')}`,
        title,
        artist: t % 3 === 0 ? `${w2} Band ${t % 60}` : `${w2} ${w1}`,
        album: `${w1} ${w2}`,
        album_artist: null,
        genre: GENRES[t % GENRES.length],
        remote_id: null,
        local_path: `t${t}.mp3`,
        album_id: null,
        artist_id: null,
        duration: 100 + (t % 17),
        added_at: 0,
        updated_at: 0,
      });
    }
    for (let at = 0; at < tracks.length; at += 500) {
      await db
        .insertInto('tracks')
        .values(tracks.slice(at, at + 500) as never)
        .execute();
    }
    sqlPlan = new PgCatalogSearch(db, { mirrors: false });
    mirrored = new PgCatalogSearch(db);
    await mirrored.searchIds('warm'); // polls the catalog version, starts the build
    await mirrored.mirror?.buildNow();
    if (!mirrored.mirrorsWarm) throw new Error(`mirror not built: ${String(mirrored.mirror?.buildError)}`);
  }, 60_000);

  afterAll(async () => {
    await sqlPlan?.close();
    await mirrored?.close();
  });

  it('answers with the SQL plan’s very bytes for random queries, narrow and broad', async () => {
    const fixed = [
      'midnight',
      'lovely', // broad in tracks
      'lo',
      'l',
      'LOV',
      'cafe',
      'café',
      'Øres',
      'oresund', // unaccent folds Ø
      'ñu',
      'strasse',
      'straße',
      'Земф',
      'band', // ties among artists, by track count
      'band 3',
      'blue band',
      'lovely glass 17',
      'midnight midnight',
      'midnight lovely',
      'mid lov', // prefixes with several lexemes each
      'deluxe edition',
      'electro',
      'rock',
      'hip hop',
      'shadow über',
      'zzz',
    ];
    const random = fc.sample(
      fc.oneof(
        fc
          .constantFrom(...randomWords)
          .chain((w) => fc.nat(w.length).map((n) => [...w].slice(0, Math.max(1, n)).join(''))),
        fc.tuple(fc.constantFrom(...randomWords), fc.constantFrom(...randomWords)).map(([a, b]) => `${a} ${b}`),
        fc
          .tuple(fc.constantFrom(...WORDS), fc.constantFrom(...WORDS), fc.nat(3))
          .map(([a, b, n]) => `${a.slice(0, n + 1)} ${b}`),
        word,
      ),
      { numRuns: 300, seed: 191 },
    );
    const before = mirrored.answeredInMemory;
    let nonEmpty = 0;
    const queries = [...fixed, ...random];
    for (const q of queries) {
      for (const limits of [{}, { tracks: 50, albums: 3, artists: 4, genres: 2 }]) {
        mirrored.dropAnswers();
        sqlPlan.dropAnswers();
        const want = decode(await sqlPlan.searchJson(q, null, limits, serialize));
        const got = decode(await mirrored.searchJson(q, null, limits, serialize));
        expect(got, q).toBe(want);
        if (!want.startsWith('{"tracks":[]')) nonEmpty++;
      }
    }
    // The mirror answered them (not the SQL plan behind it), and the queries found things.
    expect(mirrored.answeredInMemory - before).toBe(queries.length * 2);
    expect(nonEmpty).toBeGreaterThan(queries.length);
    const lovely = JSON.parse(decode(await mirrored.searchJson('lovely', null, {}, serialize)));
    expect(lovely.tracks).toHaveLength(20);
    const band = await mirrored.search('band', null);
    const counts = band.artists.map((a) => a.trackCount);
    expect(counts).toHaveLength(10);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
  }, 120_000);

  it('stops answering within the poll after a write by another connection, and answers the write once rebuilt', async () => {
    const other = await connectDatabase({ url: database.rawUrl as string, path: '' });
    try {
      expect((await mirrored.searchIds('quasar')).tracks).toEqual([]);
      const builds = mirrored.mirror?.builds ?? 0;
      await other.db.updateTable('tracks').set({ title: 'Quasar Lovely' }).where('id', '=', 't00001').execute();
      // Within the poll (250 ms) the new catalog version is seen: the answer has the write and
      // comes from the SQL plan, the mirror being stale.
      await expect
        .poll(async () => (await mirrored.searchIds('quasar')).tracks, { timeout: 2000, interval: 25 })
        .toEqual(['t00001']);
      expect(mirrored.mirrorsWarm).toBe(false);
      const inMemory = mirrored.answeredInMemory;
      mirrored.dropAnswers();
      expect((await mirrored.searchIds('quasar lov')).tracks).toEqual(['t00001']);
      expect(mirrored.answeredInMemory).toBe(inMemory);
      // Rebuilt once the catalog is quiet, then answering again, with the write.
      await expect.poll(() => mirrored.mirror?.builds, { timeout: 10_000, interval: 50 }).toBeGreaterThan(builds);
      await expect.poll(() => mirrored.mirrorsWarm, { timeout: 5000, interval: 25 }).toBe(true);
      mirrored.dropAnswers();
      expect((await mirrored.searchIds('quasar')).tracks).toEqual(['t00001']);
      expect(mirrored.answeredInMemory).toBe(inMemory + 1);
    } finally {
      await other.close();
    }
  }, 30_000);
});
