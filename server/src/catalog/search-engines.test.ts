/**
 * Local search on both engines, through the search service each engine gets (module.ts):
 * `CatalogSearch` (FTS5 + mirrors) on SQLite, `PgCatalogSearch` (migration 0019) on PostgreSQL.
 * The same rows, the same typed text: ranking (title above artist/album), prefix matching on every
 * word, accent, case and NFKC folding, hostile input, section sizes, broad queries, freshness
 * after a write from another connection; and, with both engines at once, the same matches for a
 * randomized set of titles and queries.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Db } from '../db/database.js';
import { type AnyDatabase, connectDatabase } from '../db/engine.js';
import { type EngineUnderTest, forEachEngine, hasPostgres, postgresEngine, sqliteEngine } from '../test/engines.js';
import { CatalogSearch } from './search.js';
import type { LocalSearch } from './search-api.js';
import { PgCatalogSearch } from './search-pg.js';

interface Row {
  title: string;
  artist?: string | null;
  album?: string | null;
  genre?: string | null;
}

async function insertTracks(db: Db, rows: Row[], prefix = 't'): Promise<string[]> {
  const ids = rows.map((_, i) => `${prefix}${String(i).padStart(5, '0')}`);
  for (let at = 0; at < rows.length; at += 500) {
    await db
      .insertInto('tracks')
      .values(
        rows.slice(at, at + 500).map((r, i) => ({
          id: ids[at + i],
          title: r.title,
          artist: r.artist ?? null,
          album: r.album ?? null,
          genre: r.genre ?? null,
          remote_id: null,
          local_path: `${ids[at + i]}.mp3`,
          album_artist: r.artist ?? null,
          album_id: null,
          artist_id: null,
          duration: 100,
          added_at: 0,
          updated_at: 0,
        })) as never,
      )
      .execute();
  }
  return ids;
}

function searchOf(database: AnyDatabase): LocalSearch {
  return database.engine === 'postgres'
    ? new PgCatalogSearch(database.db)
    : new CatalogSearch({ db: database.db, sqlite: database.sqlite, readerThread: false });
}

const titlesOf = async (search: LocalSearch, q: string, tracks = 20) =>
  (await search.search(q, null, { tracks })).tracks.map((t) => t.title);

forEachEngine((engine) => {
  describe('local search', () => {
    it('matches every word as a prefix, folds accents, case and NFKC, and ranks titles above artists and albums', async () => {
      const database = await engine.open();
      await insertTracks(database.db, [
        { title: 'Halo', artist: 'Beyoncé', album: 'I Am… Sasha Fierce', genre: 'Pop' },
        { title: 'Crazy in Love', artist: 'Beyoncé', album: 'Dangerously in Love' },
        { title: 'Song for Halo', artist: 'Someone', album: 'Other' },
        { title: 'Other Tune', artist: 'Halo Band', album: 'Things' },
        { title: 'Quiet', artist: 'Nobody', album: 'Halo Sessions' },
        { title: 'ＡＢＣ Ｓｏｎｇ', artist: 'Ｂａｎｄ' },
        { title: 'ﬁre x²', artist: 'Ligature' },
        { title: 'ｶﾞｰﾙ', artist: 'Kana' },
        { title: 'Łódź Nights', artist: 'Ωμέγα' },
      ]);
      const search = searchOf(database);
      try {
        expect(await titlesOf(search, 'beyon')).toEqual(expect.arrayContaining(['Halo', 'Crazy in Love']));
        expect(await titlesOf(search, 'BEYONCE craz')).toEqual(['Crazy in Love']);
        expect(await titlesOf(search, 'beyoncé – halo')).toEqual(['Halo']);
        // Title matches first, then artist, then album.
        const halo = await titlesOf(search, 'halo');
        expect(halo.slice(0, 2).sort()).toEqual(['Halo', 'Song for Halo']);
        expect(halo.slice(2)).toEqual(['Other Tune', 'Quiet']);
        expect(await titlesOf(search, 'abc song')).toEqual(['ＡＢＣ Ｓｏｎｇ']);
        expect(await titlesOf(search, 'ａｂｃ')).toEqual(['ＡＢＣ Ｓｏｎｇ']);
        expect(await titlesOf(search, 'fire x2')).toEqual(['ﬁre x²']);
        expect(await titlesOf(search, 'ガール')).toEqual(['ｶﾞｰﾙ']);
        expect(await titlesOf(search, 'ｶﾞ')).toEqual(['ｶﾞｰﾙ']);
        expect(await titlesOf(search, 'łodz')).toEqual(['Łódź Nights']);
        // unaccent folds letters FTS5 keeps (Ł, ø, ß → l, o, ss): PostgreSQL finds a little more.
        if (engine.name === 'postgres') expect(await titlesOf(search, 'lodz')).toEqual(['Łódź Nights']);
        expect(await titlesOf(search, 'ΩΜΈΓΑ')).toEqual(['Łódź Nights']);
        // Section sizes cut the answer; the answer's shape is the same on both engines.
        const one = await search.search('beyon', null, { tracks: 1, albums: 0, artists: 0, genres: 0 });
        expect(one.tracks).toHaveLength(1);
        expect(Object.keys(one)).toEqual(['tracks', 'albums', 'artists', 'genres']);
        expect(Object.keys(one.tracks[0])).toContain('liked');
        expect((await search.searchIds('crazy')).tracks).toEqual(['t00001']);
      } finally {
        await search.close();
      }
    });

    it('ranks artists tied on score by track count, then insertion order', async () => {
      const database = await engine.open();
      const artist = (id: string, name: string, tracks: number) =>
        ({ id, name, name_key: id, sort_name: null, track_count: tracks, added_at: 0, updated_at: 0 }) as never;
      await database.db
        .insertInto('artists')
        .values([artist('a1', 'Moon', 1), artist('a2', 'Moon', 9), artist('a3', 'Moon', 4), artist('a4', 'Moon', 4)])
        .execute();
      const search = searchOf(database);
      try {
        expect((await search.searchIds('moon', { tracks: 0, artists: 10 })).artists).toEqual(['a2', 'a3', 'a4', 'a1']);
        expect((await search.searchIds('mo', { tracks: 0, artists: 2 })).artists).toEqual(['a2', 'a3']);
      } finally {
        await search.close();
      }
    });

    it('takes hostile text as plain words: quotes, operators, backslashes, empty and very long input', async () => {
      const database = await engine.open();
      await insertTracks(database.db, [
        { title: "It's a Sin", artist: 'Pet Shop Boys' },
        { title: 'AC/DC Live', artist: 'AC/DC' },
        { title: 'Back\\slash & Co', artist: 'Esc' },
      ]);
      const search = searchOf(database);
      try {
        expect(await titlesOf(search, "it's")).toEqual(["It's a Sin"]);
        expect(await titlesOf(search, "'it''s' sin")).toEqual(["It's a Sin"]);
        expect(await titlesOf(search, 'ac/dc')).toEqual(['AC/DC Live']);
        expect(await titlesOf(search, 'dc live')).toEqual(['AC/DC Live']);
        expect(await titlesOf(search, 'back\\slash')).toEqual(['Back\\slash & Co']);
        for (const q of [
          '',
          '   ',
          '&|!():*',
          "'",
          "''",
          '\\',
          "\\\\'",
          '!sin',
          'sin:*',
          'sin & !pet',
          "sin') or ('1'='1",
          '"',
          '*',
          '<->',
          'a:B',
          '\u0000',
          'x'.repeat(10_000),
          `${'sin '.repeat(2000)}`,
          'é'.repeat(5000),
        ]) {
          const answer = await search.search(q, null);
          expect(answer.albums, q.slice(0, 20)).toEqual([]);
          for (const t of answer.tracks) expect(t.title).toBe("It's a Sin");
        }
        // Operators around real words are plain text: the words still find their titles.
        expect(await titlesOf(search, '!sin')).toEqual(["It's a Sin"]);
        expect(await titlesOf(search, '(pet) & | shop:*')).toEqual(["It's a Sin"]);
      } finally {
        await search.close();
      }
    });

    it('answers broad queries with the names that start with the text, alphabetically, on both engines', async () => {
      const database = await engine.open();
      // 1,600 titles with an "s" word (more than BROAD_MATCHES), few of them starting with "sa".
      const rows: Row[] = [];
      for (let i = 0; i < 1600; i++) rows.push({ title: `Track ${i} slow`, artist: 'Filler' });
      rows.push({ title: 'Sand', artist: 'X' }, { title: 'salt', artist: 'Y' }, { title: 'Sable', artist: 'Z' });
      await insertTracks(database.db, rows);
      const search = searchOf(database);
      try {
        // "s": names starting with s first (alphabetically), then other matches to fill the page.
        const s = await titlesOf(search, 's', 5);
        expect(s.slice(0, 3)).toEqual(['Sable', 'salt', 'Sand']);
        expect(s.slice(3)).toEqual(['Track 0 slow', 'Track 1 slow']);
      } finally {
        await search.close();
      }
    });

    it('drops cached answers after a catalog write by another connection, within a second', async () => {
      const database = await engine.open();
      await insertTracks(database.db, [{ title: 'Before', artist: 'A' }]);
      const search = searchOf(database);
      const other = await connectDatabase(
        database.engine === 'postgres' ? { url: database.rawUrl as string, path: '' } : { path: database.sqlite.name },
      );
      try {
        expect(await titlesOf(search, 'before')).toEqual(['Before']);
        expect(await titlesOf(search, 'after')).toEqual([]);
        await other.db.updateTable('tracks').set({ title: 'After' }).where('id', '=', 't00000').execute();
        await expect.poll(() => titlesOf(search, 'after'), { timeout: 1000, interval: 25 }).toEqual(['After']);
        expect(await titlesOf(search, 'before')).toEqual([]);
        // A write outside the catalog (a like) keeps the answers and shows in the caller's flags.
        await other.db
          .insertInto('users')
          .values({ id: 'u1', username: 'u', username_key: 'u', role: 'user', created_at: 0, updated_at: 0 })
          .execute();
        await other.db
          .insertInto('user_activity')
          .values({ user_id: 'u1', item_type: 'track', item_id: 't00000', is_liked: 1 } as never)
          .execute();
        await expect
          .poll(async () => (await search.search('after', 'u1')).tracks[0]?.liked, { timeout: 1000, interval: 25 })
          .toBe(true);
        expect((await search.search('after', null)).tracks[0]?.liked).toBe(false);
        const json = await search.searchJson('after', 'u1', {}, (s) => JSON.stringify(s));
        expect(JSON.parse(String(json)).tracks[0].liked).toBe(true);
      } finally {
        await other.close();
        await search.close();
      }
    });
  });
});

/** Letters both engines fold alike (FTS5 `unicode61 remove_diacritics 2` + NFKC; unaccent + NFKC). */
const ALPHABET = [
  ...'abcdeéèñz09',
  'Ж',
  '中',
  '\u{20000}', // 𠀀 astral letter
  '\u{1D400}', // 𝐀 mathematical bold A (NFKC → A)
  '\uFF21', // Ａ fullwidth A
  '\uFB01', // ﬁ (NFKC → fi)
  '\u00BD', // ½ (NFKC → 1⁄2: two words)
  'e\u0301', // e + combining acute
  '\u00B2', // ² (NFKC → 2)
  '\uFF76', // ｶ halfwidth katakana (NFKC → カ)
];
const word = fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 4 }).map((cs) => cs.join(''));
const text = fc.array(word, { minLength: 1, maxLength: 3 }).map((ws) => ws.join(' '));

describe.skipIf(!hasPostgres())('both engines over the same rows', () => {
  it('match the same tracks for random titles and typed queries', async () => {
    const engines: EngineUnderTest[] = [sqliteEngine, postgresEngine];
    const titles = fc.sample(text, { numRuns: 300, seed: 19 });
    const artists = fc.sample(text, { numRuns: 300, seed: 20 });
    const searches: LocalSearch[] = [];
    for (const e of engines) {
      const database = await e.open();
      await insertTracks(
        database.db,
        titles.map((title, i) => ({ title, artist: artists[i] })),
      );
      searches.push(searchOf(database));
    }
    const words = [...titles, ...artists].flatMap((t) => t.split(' '));
    const queries = fc.sample(
      fc.oneof(
        fc.constantFrom(...words).chain((w) => fc.nat(w.length).map((n) => [...w].slice(0, Math.max(1, n)).join(''))),
        fc.tuple(fc.constantFrom(...words), fc.constantFrom(...words)).map(([a, b]) => `${a} ${b}`),
        word,
      ),
      { numRuns: 400, seed: 21 },
    );
    let compared = 0;
    let found = 0;
    try {
      for (const q of queries) {
        const [lite, pg] = await Promise.all(searches.map((s) => s.searchIds(q, { tracks: 200 })));
        // All matches listed (fewer than the page): the same set on both engines.
        if (lite.tracks.length >= 200 || pg.tracks.length >= 200) continue;
        compared++;
        if (lite.tracks.length > 0) found++;
        expect([...pg.tracks].sort(), q).toEqual([...lite.tracks].sort());
      }
    } finally {
      for (const s of searches) await s.close();
    }
    expect(compared).toBeGreaterThan(300);
    expect(found).toBeGreaterThan(150);
  }, 120_000);
});
