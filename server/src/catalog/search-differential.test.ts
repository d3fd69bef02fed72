/**
 * Randomized differential test (fast-check) of the in-memory search mirrors against FTS5, on
 * random Unicode titles: ASCII, accents, CJK, astral-plane characters (emoji, CJK extension B),
 * the U+E000–U+FFFF block (private use, fullwidth forms) that sorts differently in UTF-16 and
 * UTF-8, compatibility characters that NFKC changes (fullwidth, mathematical letters, ligatures,
 * fractions, superscripts, halfwidth katakana). Whenever the mirrors answer, they must answer with
 * FTS5's very bytes; and every title must be found by typing it, whole or as the first letters of
 * its words, as tagged or in its NFKC form (ASCII "abc" for "ＡＢＣ": the index holds NFKC,
 * migration 0017), whichever plan answers.
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
  '\u00B2', // ² superscript two (NFKC → 2)
  '\uFF76', // ｶ halfwidth katakana (NFKC → カ)
  '\uFF76\uFF9E', // ｶﾞ halfwidth katakana + voiced mark (NFKC → ガ, one character)
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

  it('finds every title by typing it, whole or as the first letters of its words, as tagged or in NFKC', () => {
    const sql = new SqlRanker(database.sqlite);
    const mirrored = new MirrorRanker(database.sqlite);
    try {
      expect(mirrored.buildNow()).toBe(true);
      const version = String(
        (database.sqlite.prepare('select version from catalog_version').get() as { version: number }).version,
      );
      // First letters as a user sees them (graphemes: "ｶﾞ" is one, typing "ｶ" is another kana).
      const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' });
      const firstLetters = (text: string, n: number) =>
        text
          .split(' ')
          .map((w) =>
            Array.from(graphemes.segment(w), (g) => g.segment)
              .slice(0, n)
              .join(''),
          )
          .join(' ');
      // As tagged, or its NFKC form typed in either case ("ＡＢＣ ﬁ" → "ABC fi", "abc fi").
      const typings = fc.constantFrom(...titles.keys()).chain((i) =>
        fc
          .constantFrom(titles[i], titles[i].normalize('NFKC'), titles[i].normalize('NFKC').toLowerCase())
          .chain((text) =>
            fc.oneof(
              fc.constant({ i, text, q: text }),
              fc.integer({ min: 1, max: 3 }).map((n) => ({ i, text, q: firstLetters(text, n) })),
            ),
          ),
      );
      let compatibility = 0;
      let folded = 0;
      fc.assert(
        fc.property(typings, ({ i, text, q }) => {
          const match = toFtsQuery(q);
          if (match === null) return; // a title of symbols only (🎵 ￡): no words to type
          const tagged = titles[i];
          if (q.normalize('NFKC') !== q.normalize('NFC')) compatibility += 1;
          if (text !== tagged && tagged.normalize('NFKC') !== tagged.normalize('NFC')) folded += 1;
          const expected = sql.rankJson(match, ALL_TRACKS, version);
          expect(expected.ids.tracks, `${q} → ${match}`).toContain(`t${i}`);
          // Index and query both hold NFKC, so every word folds to one token: the mirrors answer,
          // with FTS5's very bytes.
          const viaMirrors = mirrored.rankJson(match, ALL_TRACKS, version);
          expect(viaMirrors, `${q} → ${match}`).not.toBeNull();
          expect(Buffer.from(viaMirrors?.json ?? []).toString('utf8'), q).toBe(
            Buffer.from(expected.json).toString('utf8'),
          );
        }),
        { numRuns: 2000, seed: 7 },
      );
      // Not vacuous: many typings had characters NFKC changes, many typed a compatibility title in
      // its folded form (ASCII "abc" for "ＡＢＣ", "fi" for "ﬁ", "ガ" for "ｶﾞ").
      expect(compatibility).toBeGreaterThan(300);
      expect(folded).toBeGreaterThan(300);
    } finally {
      mirrored.close();
    }
  });
});
