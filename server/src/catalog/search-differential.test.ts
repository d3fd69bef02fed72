/**
 * Randomized differential test (fast-check) of the in-memory search mirrors against FTS5, on
 * random Unicode titles: ASCII, accents, CJK, astral-plane characters (emoji, CJK extension B),
 * the U+E000–U+FFFF block (private use, fullwidth forms) that sorts differently in UTF-16 and
 * UTF-8, compatibility characters that NFKC changes (fullwidth, mathematical letters, ligatures,
 * fractions). Whenever the mirrors answer, they must answer with FTS5's very bytes; and every title
 * must be found by typing it, whole or as the first letters of its words, whichever plan answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenedDatabase, openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { toFtsQuery } from './search.js';
import { compareCodePoints } from './search-fts-mirror.js';
import { MirrorRanker } from './search-mirror-plan.js';
import type { Sizes } from './search-ranker.js';
import { SqlRanker } from './search-sql-plan.js';

const SIZES: Sizes = [20, 10, 10, 5];
/** Enough room for every match of a typed title (400 titles): a found title is always listed. */
const ALL_TRACKS: Sizes = [200, 0, 0, 0];
const ALPHABET = [
  ...'abcdeéèñøßz09',
  'Ж',
  '中',
  '\u{1F3B5}', // 🎵 astral (emoji)
  '\u{20000}', // 𠀀 astral letter (CJK extension B)
  '\u{1D400}', // 𝐀 mathematical bold A (astral, NFKC → A)
  '\uE000', // private use: U+E000–U+FFFF sorts after surrogates in UTF-8
  '\uFF21', // Ａ fullwidth A
  '\uFF41', // ａ fullwidth a
  '\uFFE1', // ￡
  '\uFF10', // ０ fullwidth digit
  '\u{1D41B}', // 𝐛 mathematical bold small b (astral, NFKC → b)
  '\uFB01', // ﬁ ligature (NFKC → fi)
  '\u00BD', // ½ (NFKC → 1⁄2: two words)
  'e\u0301', // e + combining acute (NFC → é)
];
const word = fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 5 }).map((cs) => cs.join(''));
const title = fc.array(word, { minLength: 1, maxLength: 3 }).map((ws) => ws.join(' '));

let dir: string;
let database: OpenedDatabase;
let titles: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-diff-'));
  database = openDatabase(join(dir, 'db.sqlite'));
  await migrateToLatest(database.db);
  titles = fc.sample(title, { numRuns: 400, seed: 13 });
  const insert = database.sqlite.prepare(
    'insert into tracks (id, title, artist, album, genre, duration, added_at, updated_at) values (?, ?, ?, ?, ?, 100, 0, 0)',
  );
  database.sqlite.transaction(() => {
    for (const [i, t] of titles.entries()) insert.run(`t${i}`, t, null, null, null);
  })();
});

afterAll(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('search mirrors vs FTS5 on random Unicode titles', () => {
  it('code point order is UTF-8 byte order (the order FTS5 keeps its terms in)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const bytes = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect(Math.sign(compareCodePoints(a, b))).toBe(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it('whenever the mirrors answer, they give the bytes FTS5 gives (prefixes of real words, random words)', () => {
    const sql = new SqlRanker(database.sqlite);
    const mirrored = new MirrorRanker(database.sqlite);
    try {
      expect(mirrored.buildNow()).toBe(true);
      const version = String(
        (database.sqlite.prepare('select version from catalog_version').get() as { version: number }).version,
      );
      const words = titles.flatMap((t) => t.split(' '));
      const query = fc.oneof(
        fc.constantFrom(...words).chain((w) => fc.nat(w.length).map((n) => [...w].slice(0, Math.max(1, n)).join(''))),
        word,
      );
      let answered = 0;
      let found = 0;
      fc.assert(
        fc.property(query, (q) => {
          const match = toFtsQuery(q);
          if (match === null) return;
          const fromMirrors = mirrored.rankJson(match, SIZES, version);
          if (fromMirrors === null) return;
          answered += 1;
          const expected = sql.rankJson(match, SIZES, version);
          if (expected.ids.tracks.length > 0) found += 1;
          expect(Buffer.from(fromMirrors.json).toString('utf8'), q).toBe(Buffer.from(expected.json).toString('utf8'));
        }),
        { numRuns: 1500, seed: 42 },
      );
      // Not vacuous: the mirrors answered most queries, and many found tracks.
      expect(answered).toBeGreaterThan(500);
      expect(found).toBeGreaterThan(200);
    } finally {
      mirrored.close();
    }
  });

  it('finds every title by typing it, whole or as the first letters of its words (NFKC or not)', () => {
    const sql = new SqlRanker(database.sqlite);
    const mirrored = new MirrorRanker(database.sqlite);
    try {
      expect(mirrored.buildNow()).toBe(true);
      const version = String(
        (database.sqlite.prepare('select version from catalog_version').get() as { version: number }).version,
      );
      const typings = fc.constantFrom(...titles.keys()).chain((i) =>
        fc.oneof(
          fc.constant({ i, q: titles[i] }),
          fc.integer({ min: 1, max: 3 }).map((n) => ({
            i,
            q: titles[i]
              .split(' ')
              .map((w) => [...w].slice(0, n).join(''))
              .join(' '),
          })),
        ),
      );
      let compatibility = 0;
      let fromMirrors = 0;
      fc.assert(
        fc.property(typings, ({ i, q }) => {
          const match = toFtsQuery(q);
          if (match === null) return; // a title of symbols only (🎵 ￡): no words to type
          if (q.normalize('NFKC') !== q.normalize('NFC')) compatibility += 1;
          expect(sql.rankJson(match, ALL_TRACKS, version).ids.tracks, `${q} → ${match}`).toContain(`t${i}`);
          const viaMirrors = mirrored.rankJson(match, ALL_TRACKS, version);
          if (viaMirrors === null) return;
          fromMirrors += 1;
          expect(viaMirrors.ids.tracks, q).toContain(`t${i}`);
        }),
        { numRuns: 1500, seed: 7 },
      );
      // Not vacuous: many typings had characters NFKC changes, many others were ranked in memory.
      expect(compatibility).toBeGreaterThan(300);
      expect(fromMirrors).toBeGreaterThan(100);
    } finally {
      mirrored.close();
    }
  });
});
