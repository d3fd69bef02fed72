/**
 * Canary for SQLite upgrades (better-sqlite3 bundles its own SQLite): the in-memory search mirrors
 * (search-fts-mirror.ts, search-fts-build.ts, search-folder.ts) rely on FTS5 internals that no
 * interface promises. If one of these tests fails after an upgrade, the mirrors may answer
 * differently from FTS5 (or from a stale index): fix the mirrors before shipping the upgrade.
 *
 * - the structure record (`<fts>_data` id 10) is rewritten on every change to the index, and only
 *   then (it is the mirrors' freshness stamp);
 * - `fts5vocab` lists terms in UTF-8 byte order, one row per (term, row, column) instance (the
 *   build reads them in that order, the mirror binary-searches them with `compareCodePoints`);
 * - `<fts>_docsize` has one row per indexed row (the build's row list);
 * - bm25 is Robertson's with k1 = 1.2, b = 0.75, IDF clamped at 1e-6, column weights applied to
 *   term frequencies, and per-phrase contributions summed in query order: the mirror's scores are
 *   compared with `bm25()` bit for bit, and both with the formula written out here;
 * - the unicode61 tokenizer folds a word one character at a time (the word folder asks it about
 *   single characters between two letters).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenedDatabase, openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { WordFolder } from './search-folder.js';
import { compareCodePoints, FtsMirror } from './search-fts-mirror.js';
import { TOKENIZE } from '../db/migrations/0006_search_prefixes.js';
import { TRACKS } from './search-ranker.js';

let dir: string;
let database: OpenedDatabase;
let sqliteVersion: string;

const TITLES = [
  'Blue Monday',
  'Blue Blue Blue Velvet',
  'Monday Morning Blues',
  'Café del Mar',
  'Ｆｕｌｌｗｉｄｔｈ Ｂｌｕｅ',
  '𝐁𝐨𝐥𝐝 Blue',
  '\u{1F3B5} Song \u{20000}',
  '\uE000private Blue',
  'Zebra',
  'Äpfel und Birnen',
  'Blues for Monday Night Blue',
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-canary-'));
  database = openDatabase(join(dir, 'db.sqlite'));
  await migrateToLatest(database.db);
  sqliteVersion = database.sqlite.prepare('select sqlite_version()').pluck().get() as string;
  const insert = database.sqlite.prepare(
    'insert into tracks (id, title, artist, album, genre, duration, added_at, updated_at) values (?, ?, ?, ?, ?, 100, 0, 0)',
  );
  database.sqlite.transaction(() => {
    for (const [i, t] of TITLES.entries()) insert.run(`t${i}`, t, i % 3 === 0 ? 'Blue Band' : 'Other', 'Monday', 'Pop');
  })();
});

afterAll(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

const structure = () =>
  database.sqlite.prepare('select block from tracks_fts_data where id = 10').pluck().get() as Buffer;

describe(`FTS5 internals the search mirrors rely on (canary for SQLite upgrades)`, () => {
  it('rewrites the structure record on every change to the index, and only then', () => {
    const before = structure();
    expect(Buffer.isBuffer(before), `SQLite ${sqliteVersion}`).toBe(true);
    // A write elsewhere leaves it as it is.
    database.sqlite
      .prepare(
        `insert into users (id, username, username_key, role, created_at, updated_at) values ('c1', 'c', 'c', 'user', 0, 0)`,
      )
      .run();
    expect(structure().equals(before), `SQLite ${sqliteVersion}`).toBe(true);
    for (const change of [
      `insert into tracks (id, title, duration, added_at, updated_at) values ('x1', 'Canary', 1, 0, 0)`,
      `update tracks set title = 'Canary Two' where id = 'x1'`,
      `delete from tracks where id = 'x1'`,
    ]) {
      const was = structure();
      database.sqlite.prepare(change).run();
      expect(structure().equals(was), `${change} (SQLite ${sqliteVersion})`).toBe(false);
    }
  });

  it('lists vocabulary in UTF-8 byte order, one row per instance, and a docsize row per indexed row', () => {
    database.sqlite.exec(
      `create virtual table if not exists temp.canary_vocab using fts5vocab(main, 'tracks_fts', 'instance')`,
    );
    const rows = database.sqlite.prepare('select term, doc, col, offset from temp.canary_vocab').all() as {
      term: string;
      doc: number;
      col: string;
      offset: number;
    }[];
    const terms = rows.map((r) => r.term);
    const sorted = [...terms].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(terms, `SQLite ${sqliteVersion}`).toEqual(sorted);
    for (let i = 1; i < terms.length; i++) expect(compareCodePoints(terms[i - 1], terms[i])).toBeLessThanOrEqual(0);
    // The order matters where UTF-16 and UTF-8 differ: astral and U+E000–U+FFFF terms are there
    // (private use: fullwidth letters are indexed in NFKC, as ASCII, since migration 0017).
    expect(terms.some((t) => (t.codePointAt(0) as number) > 0xffff)).toBe(true);
    expect(terms.some((t) => (t.codePointAt(0) as number) >= 0xe000 && (t.codePointAt(0) as number) <= 0xffff)).toBe(
      true,
    );
    // One row per instance: "blue" three times in the second title, all in the title column.
    const k = database.sqlite.prepare(`select rowid from search_keys where item_id = 't1'`).pluck().get() as number;
    expect(rows.filter((r) => r.term === 'blue' && r.doc === k && r.col === 'title')).toHaveLength(3);
    const docsize = database.sqlite.prepare('select count(*) from tracks_fts_docsize').pluck().get();
    const indexed = database.sqlite.prepare('select count(*) from tracks').pluck().get();
    expect(docsize).toBe(indexed);
  });

  it('scores with bm25 exactly as the mirror does (k1, b, IDF, weights, summation order)', () => {
    const mirror = new FtsMirror(database.sqlite, 'tracks_fts', TRACKS.weights);
    expect(mirror.buildNow()).toBe(true);
    const weights = TRACKS.weights.map((w) => w.toFixed(1)).join(', ');
    const bm25 = database.sqlite.prepare(
      `select rowid, bm25(tracks_fts, ${weights}) as score from tracks_fts where tracks_fts match ? order by score, rowid`,
    );
    const docs = database.sqlite.prepare('select rowid, title, artist, album, genre from tracks_fts').all() as Record<
      string,
      string | number | null
    >[];
    for (const words of [['blue'], ['monday', 'blue'], ['blue', 'monday'], ['blu', 'mo', 'b'], ['caf'], ['zebra']]) {
      const match = words.map((w) => `"${w}"*`).join(' ');
      const sql = bm25.all(match) as { rowid: number; score: number }[];
      expect(sql.length, match).toBeGreaterThan(0);
      const fromMirror = mirror.rank(words, 100, 1000);
      // Bit for bit: the same rows, the same doubles.
      expect(fromMirror, `${match} (SQLite ${sqliteVersion})`).toEqual(sql);
      // And FTS5's bm25 is still the formula the mirror implements.
      for (const r of sql) expect(r.score, match).toBeCloseTo(reference(docs, words, r.rowid), 12);
    }
  });

  it('folds a word one character at a time (the word folder asks the tokenizer about single characters)', () => {
    const folder = new WordFolder(TOKENIZE);
    try {
      // Characters folded alone give the word folded whole (case, diacritics, fullwidth case).
      expect(folder.foldAll(['ÄpFEL', 'Ｆｕｌｌ', 'Café'])).toEqual(['apfel', 'ｆｕｌｌ', 'cafe']);
      // A separator inside a word means FTS5 would make it a phrase: not foldable.
      expect(folder.foldAll(['a\u{1F3B5}b'])).toBeNull();
    } finally {
      folder.close();
    }
  });
});

/** bm25 as FTS5 documents it, written out (a different order of operations than the mirror). */
function reference(docs: Record<string, string | number | null>[], words: string[], rowid: number): number {
  const columns = ['title', 'artist', 'album', 'genre'];
  const tokens = (v: string | number | null) =>
    String(v ?? '')
      .normalize('NFD')
      .replace(/\p{M}/gu, '')
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter(Boolean);
  const docTokens = docs.map((d) => columns.map((c) => tokens(d[c])));
  const length = (cols: string[][]) => cols.reduce((n, c) => n + c.length, 0);
  const avgdl = docTokens.reduce((n, d) => n + length(d), 0) / docs.length;
  const at = docs.findIndex((d) => d.rowid === rowid);
  const doc = docTokens[at];
  let score = 0;
  for (const w of words) {
    const hits = docTokens.filter((d) => d.some((c) => c.some((t) => t.startsWith(w)))).length;
    const idf = Math.max(1e-6, Math.log((docs.length - hits + 0.5) / (hits + 0.5)));
    let f = 0;
    for (const [i, col] of doc.entries()) f += TRACKS.weights[i] * col.filter((t) => t.startsWith(w)).length;
    score += (idf * f * (1.2 + 1)) / (f + 1.2 * (1 - 0.75 + (0.75 * length(doc)) / avgdl));
  }
  return -score;
}
