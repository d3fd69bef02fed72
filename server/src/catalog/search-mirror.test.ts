/**
 * The in-memory search mirrors (search-mirror-plan.ts and the mirrors it holds) on a real migrated SQLite file: they must give
 * the very bytes the FTS5 path gives, for narrow, broad, multi-word, tied and non-ASCII queries;
 * stop answering the moment the catalog changes and answer again, with the change, once rebuilt;
 * and fold words exactly as the FTS5 tokenizer does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenedDatabase, openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { TOKENIZE } from '../db/migrations/0006_search_prefixes.js';
import { toFtsQuery } from './search.js';
import { WordFolder } from './search-folder.js';
import { MirrorRanker } from './search-mirror-plan.js';
import type { Sizes } from './search-ranker.js';
import { SqlRanker } from './search-sql-plan.js';

let dir: string;
let database: OpenedDatabase;
let sql: SqlRanker;
let mirrored: MirrorRanker;
const SIZES: Sizes = [20, 10, 10, 5];
const decode = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const version = () =>
  String((database.sqlite.prepare('select version from catalog_version').get() as { version: number }).version);

/** A small library with the shapes that matter: repeated words, diacritics, ties, broad words. */
const WORDS = ['Midnight', 'Lovely', 'Blue', 'Café', 'Øresund', 'Ñu', 'Straße', 'Glass', 'Shadow', 'Über', 'Земфира'];
const GENRES = ['Rock', 'Jazz', 'Électro', 'Hip-Hop'];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-mirror-'));
  database = openDatabase(join(dir, 'db.sqlite'));
  await migrateToLatest(database.db);
  const { sqlite } = database;
  const artist = sqlite.prepare(
    'insert into artists (id, name, name_key, track_count, added_at, updated_at) values (?, ?, ?, ?, 0, 0)',
  );
  const album = sqlite.prepare(
    `insert into albums (id, name, group_key, album_artist, genre, added_at, updated_at)
     values (?, ?, ?, ?, ?, 0, 0)`,
  );
  const track = sqlite.prepare(
    `insert into tracks (id, title, artist, album, genre, duration, added_at, updated_at)
     values (?, ?, ?, ?, ?, ?, 0, 0)`,
  );
  const genre = sqlite.prepare('insert into genres (id, name, name_key, track_count) values (?, ?, ?, ?)');
  sqlite.transaction(() => {
    for (const [i, g] of GENRES.entries()) genre.run(`g${i}`, g, g.toLowerCase(), 10 + i);
    // Artists with equal names scores ("<word> Band N") and different track counts: ties.
    for (let a = 0; a < 60; a++) {
      const name = `${WORDS[a % WORDS.length]} Band ${a}`;
      artist.run(`a${a}`, name, name.toLowerCase(), (a * 7) % 13);
    }
    for (let b = 0; b < 120; b++) {
      const name =
        `${WORDS[b % WORDS.length]} ${WORDS[(b * 3 + 1) % WORDS.length]} ${b % 5 === 0 ? 'Deluxe Edition' : ''}`.trim();
      album.run(`al${b}`, name, `k${b}`, `${WORDS[b % WORDS.length]} Band ${b % 60}`, GENRES[b % GENRES.length]);
    }
    // 1,800 tracks: "Lovely" is in more than BROAD_MATCHES of them (a broad word).
    for (let t = 0; t < 1800; t++) {
      const w1 = WORDS[t % WORDS.length];
      const w2 = WORDS[(t * 7 + 3) % WORDS.length];
      const title = t % 10 === 0 ? `${w1} ${t}` : `${w1} Lovely ${w2} ${t}`;
      track.run(`t${t}`, title, `${w2} Band ${t % 60}`, `${w1} ${w2}`, GENRES[t % GENRES.length], 100 + (t % 17));
    }
  })();
  sql = new SqlRanker(sqlite);
  mirrored = new MirrorRanker(sqlite);
  expect(mirrored.buildNow()).toBe(true);
});

afterAll(async () => {
  mirrored.close();
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('search mirrors', () => {
  const QUERIES = [
    'midnight', // narrow-ish
    'lovely', // broad in tracks
    'lo', // broad, short
    'LOV', // case
    'cafe', // folded diacritics match "Café"
    'café',
    'Øres',
    'ñu',
    'strasse', // no match: ß is not folded to ss
    'straße',
    'Земф',
    'band', // ties among artists, resolved by track count
    'band 7',
    'blue band',
    'lovely glass 17',
    'deluxe edition',
    'electro', // genre with a diacritic
    'hip hop',
    'shadow über',
    'zzz',
  ];

  it('answers with the same bytes as FTS5, for every kind of query', () => {
    const v = version();
    for (const q of QUERIES) {
      const match = toFtsQuery(q) as string;
      const fromMirrors = mirrored.rankJson(match, SIZES, v);
      expect(fromMirrors, q).not.toBeNull();
      expect(decode(fromMirrors?.json as Uint8Array), q).toBe(decode(sql.rankJson(match, SIZES, v).json));
      expect(fromMirrors?.ids, q).toEqual(sql.rankJson(match, SIZES, v).ids);
    }
    // Not vacuous: the queries found things, broad ones filled whole sections.
    const lovely = JSON.parse(decode(sql.rankJson(toFtsQuery('lovely') as string, SIZES, v).json));
    expect(lovely.tracks).toHaveLength(20);
    const band = JSON.parse(decode(sql.rankJson(toFtsQuery('band') as string, SIZES, v).json));
    const counts = band.artists.map((a: { trackCount: number }) => a.trackCount);
    expect(counts).toHaveLength(10);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    const electro = JSON.parse(decode(sql.rankJson(toFtsQuery('electro') as string, SIZES, v).json));
    expect(electro.genres.map((g: { name: string }) => g.name)).toEqual(['Électro']);
  });

  it('gives FTS5 bytes again when remembered words come back, alone, combined and reordered', () => {
    // Every word below was met by the test above: the mirrors now take its terms and row count
    // from what they remember, in other combinations and orders (rarest first changes with them).
    const v = version();
    const again = [
      'lovely midnight',
      'midnight lovely',
      'band blue',
      'glass lovely 17',
      'lovely',
      'lo band',
      'café über',
    ];
    for (const q of [...again, ...QUERIES.slice().reverse()]) {
      const match = toFtsQuery(q) as string;
      const fromMirrors = mirrored.rankJson(match, SIZES, v);
      expect(fromMirrors, q).not.toBeNull();
      expect(decode(fromMirrors?.json as Uint8Array), q).toBe(decode(sql.rankJson(match, SIZES, v).json));
    }
    const both = JSON.parse(
      decode(mirrored.rankJson(toFtsQuery('midnight lovely') as string, SIZES, v)?.json as Uint8Array),
    );
    expect(both.tracks.length).toBeGreaterThan(0);
  });

  it('stops answering when the catalog changes, and answers with the change once rebuilt', () => {
    // "quasar" is remembered as matching nothing before the change; the rebuilt mirror must not
    // reuse that (what a word matches is remembered per build).
    const match = toFtsQuery('quasar') as string;
    expect(decode(mirrored.rankJson(match, SIZES, version())?.json as Uint8Array)).toContain('"tracks":[]');
    database.sqlite
      .prepare(`insert into tracks (id, title, added_at, updated_at) values ('new1', 'Quasar Lovely', 0, 0)`)
      .run();
    // The new version makes the mirrors stale at once: no answer from them (the caller uses FTS5).
    expect(mirrored.rankJson(match, SIZES, version())).toBeNull();
    expect(mirrored.ready).toBe(false);
    expect(mirrored.buildNow()).toBe(true);
    const after = mirrored.rankJson(match, SIZES, version());
    expect(JSON.parse(decode(after?.json as Uint8Array)).tracks.map((t: { id: string }) => t.id)).toEqual(['new1']);
  });

  it('keeps answering through writes that are not to the catalog', () => {
    const match = toFtsQuery('midnight') as string;
    const before = mirrored.rankJson(match, SIZES, version());
    database.sqlite
      .prepare(
        `insert into users (id, username, username_key, role, created_at, updated_at)
         values ('u1', 'u', 'u', 'user', 0, 0)`,
      )
      .run();
    expect(mirrored.ready).toBe(true);
    expect(decode(mirrored.rankJson(match, SIZES, version())?.json as Uint8Array)).toBe(
      decode(before?.json as Uint8Array),
    );
  });

  it('folds words exactly as the FTS5 tokenizer does, one character at a time', () => {
    const folder = new WordFolder(TOKENIZE);
    const reference = new SQLite(':memory:');
    reference.exec(
      `create virtual table t using fts5(w, ${TOKENIZE}); create virtual table v using fts5vocab(t, instance)`,
    );
    const tokens = (w: string) => {
      reference.prepare('insert into t(rowid, w) values (1, ?)').run(w);
      const out = reference.prepare('select term from v').pluck().all() as string[];
      reference.prepare('delete from t where rowid = 1').run();
      return out;
    };
    const words = [
      'Beyoncé',
      'ÅNGSTRÖM',
      'Øresund',
      'Straße',
      'Ǆemal',
      'İstanbul',
      'Ωmega',
      'Łódź',
      'Œuvre',
      'Þór',
      'Việt',
      'Đakovo',
      'Земфира',
      'Ёлка',
      '東京',
      'ﾃｽﾄ',
      'naïve',
      'Ñu',
      'Smörgåsbord',
      'x²',
      'Ⅻ',
    ].map((w) => w.normalize('NFKC'));
    for (const w of words) {
      const t = tokens(w);
      expect(folder.foldAll([w]), w).toEqual(t.length === 1 ? t : null);
    }
    folder.close();
    reference.close();
  });
});
