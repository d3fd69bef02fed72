/**
 * The two ranking plans of local search on a real migrated SQLite file: bm25 while a query
 * matches at most BROAD_MATCHES rows, name order (then other matches) beyond that.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenedDatabase, openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { toFtsQuery } from './search.js';
import { BROAD_MATCHES, termsOf } from './search-ranker.js';
import { SqlRanker } from './search-sql-plan.js';

let dir: string;
let database: OpenedDatabase;
let ranker: SqlRanker;
const SIZES = [20, 10, 10, 5] as const;
const rank = (q: string, sizes: readonly [number, number, number, number] = SIZES) =>
  ranker.rank(toFtsQuery(q) as string, sizes, 'v1');

/** Every "filler" track's title has a word starting with "lo", so "lo" alone is a broad query. */
const FILLERS = BROAD_MATCHES + 200;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-ranker-'));
  database = openDatabase(join(dir, 'db.sqlite'));
  await migrateToLatest(database.db);
  const insert = database.sqlite.prepare(
    `insert into tracks (id, title, artist, album, genre, added_at, updated_at)
     values (@id, @title, @artist, @album, @genre, 0, 0)`,
  );
  database.sqlite.transaction(() => {
    for (let i = 0; i < FILLERS; i++) {
      // "Zed Lo…" titles: the broad word is never first, so no filler starts with "lo".
      const n = String(i).padStart(4, '0');
      insert.run({ id: `filler${n}`, title: `Zed Lovely ${n}`, artist: 'Band', album: 'Hits', genre: 'Pop' });
    }
    insert.run({ id: 'fullwidth', title: 'ＡＢＣ Ｓｏｎｇ', artist: 'Ｂａｎｄ', album: 'Ｈｉｔｓ', genre: 'Pop' });
    insert.run({ id: 'lola', title: 'Lola', artist: 'The Kinks', album: 'Lola Versus Powerman', genre: 'Rock' });
    insert.run({ id: 'loser', title: 'Loser', artist: 'Beck', album: 'Mellow Gold', genre: 'Rock' });
    insert.run({ id: 'lovecats', title: 'The Lovecats', artist: 'The Cure', album: 'Japanese Whispers', genre: 'Pop' });
    insert.run({ id: 'lonely', title: 'Lonely Boy', artist: 'The Black Keys', album: 'El Camino', genre: 'Rock' });
    insert.run({ id: 'beck', title: 'Devils Haircut', artist: 'Beck', album: 'Odelay', genre: 'Rock' });
    insert.run({ id: 'loser-live', title: 'Not a Song', artist: 'Loser Band', album: 'Live', genre: 'Rock' });
  })();
  ranker = new SqlRanker(database.sqlite);
});

afterAll(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('search ranking plans', () => {
  it('reads the words back from an FTS query', () => {
    expect(termsOf(toFtsQuery('Beyoncé – Halo') as string)).toEqual(['Beyoncé', 'Halo']);
    // The text is folded to NFKC first, as the index holds it (migration 0017).
    const folded = toFtsQuery('ＡＢＣ ½ ﬁne ㍿') as string;
    expect(folded).toBe('"ABC"* "1"* "2"* "fine"* "株式会社"*');
    expect(termsOf(folded)).toEqual(['ABC', '1', '2', 'fine', '株式会社']);
    // The words are cut at the query's separators: the same words as reading each quoted term.
    const quoted = (match: string) => [...match.matchAll(/"([^"]*)"\*/g)].map((m) => m[1]);
    for (const text of ['a', 'el ga', '"x"* OR y', 'Beyoncé\u0301 – x² ｶﾞｰﾙ 𝐁𝐨𝐥𝐝 a-b_c', '1 2 3 4 5 6 7 8 9 10']) {
      const match = toFtsQuery(text) as string;
      expect(termsOf(match)).toEqual(quoted(match));
    }
    expect(termsOf('')).toEqual([]);
  });

  it('ranks a narrow query by bm25: a title match before an artist match', () => {
    const loser = rank('loser').tracks.map((t) => t.id);
    expect(loser).toEqual(['loser', 'loser-live']);
    expect(rank('kinks').tracks.map((t) => t.id)).toEqual(['lola']);
  });

  it('lists a broad query by names that start with it, alphabetically, then other matches', () => {
    const tracks = rank('lo').tracks.map((t) => t.title);
    expect(tracks.slice(0, 3)).toEqual(['Lola', 'Lonely Boy', 'Loser']);
    expect(tracks).toHaveLength(20);
    // Then other title matches ("The Lovecats", the fillers) — all of them really match.
    for (const title of tracks.slice(3)) expect(title).toMatch(/\bLo/);
    // Case does not matter for the name order.
    expect(rank('LO').tracks.map((t) => t.title)).toEqual(tracks);
  });

  it('fills a broad query from other columns when no name starts with it', () => {
    // "band" matches every filler by artist only; no title starts with it.
    const tracks = rank('band').tracks;
    expect(tracks).toHaveLength(20);
    for (const t of tracks) expect(t.artist).toMatch(/Band/);
  });

  it('uses bm25 again when broad words meet in few rows', () => {
    // "lo" and "zed" are each broad; together with "0007" they name one filler.
    expect(rank('zed lo 0007').tracks.map((t) => t.id)).toEqual(['filler0007']);
    // Two broad words whose intersection is still broad: name order.
    const both = rank('zed lo').tracks.map((t) => t.title);
    expect(both[0]).toBe('Zed Lovely 0000');
    expect(both).toHaveLength(20);
  });

  it('finds a fullwidth title typed in ASCII or fullwidth, and shows it as tagged (NFKC index)', () => {
    for (const q of ['ＡＢＣ', 'ＡＢ Ｓｏ', 'abc', 'abc song', 'ABC SO', 'abc band hits']) {
      expect(
        rank(q).tracks.map((t) => t.id),
        q,
      ).toEqual(['fullwidth']);
    }
    expect(rank('abc').tracks[0]).toMatchObject({ title: 'ＡＢＣ Ｓｏｎｇ', artist: 'Ｂａｎｄ', album: 'Ｈｉｔｓ' });
    // Typed in fullwidth, an ASCII title is found too.
    expect(rank('Ｌｏｌａ').tracks.map((t) => t.id)).toEqual(['lola']);
  });

  it('respects section sizes in both plans', () => {
    expect(rank('lo', [3, 0, 0, 0]).tracks.map((t) => t.title)).toEqual(['Lola', 'Lonely Boy', 'Loser']);
    expect(rank('lo', [0, 2, 2, 0])).toMatchObject({ tracks: [], genres: [] });
    expect(rank('loser', [1, 0, 0, 0]).tracks.map((t) => t.id)).toEqual(['loser']);
  });

  it('searches user text safely in both plans (SECURITY.md 3)', () => {
    for (const q of ["lo' OR 1=1 --", 'lo"*', 'lo NEAR zed', '%lo_']) {
      expect(() => rank(q), q).not.toThrow();
    }
    expect(rank("' OR 1=1 --").tracks).toEqual([]);
  });
});
