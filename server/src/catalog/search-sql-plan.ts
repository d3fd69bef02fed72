/**
 * The SQL plan of local search: ranks over FTS5 and reads the winners from the catalog tables.
 * It can answer every query; it runs on the search reader thread (search-worker.ts, its own
 * read-only connection) and, when that is not available, on the main connection.
 *
 * Two ways to rank a section (README.md here, "Ranking"):
 * - **bm25** over every match, with column weights. Its cost grows with the number of matches
 *   (~0.5 µs each), so it is used while a query matches at most {@link BROAD_MATCHES} rows.
 * - **Broad queries** (one or two letters, a word in half the library): the rows whose name starts
 *   with the typed text, in alphabetical order, read from the name's B-tree index; then, if that
 *   leaves room, other matches (name matches first) in index order. A few dozen rows are read,
 *   whatever the size of the library.
 */
import type SQLite from 'better-sqlite3';
import { assembleJson, type Item, type RankedItems, type RankedJson, toRanked } from './search-json.js';
import {
  ALBUMS,
  ARTISTS,
  BroadPage,
  BROAD_MATCHES,
  GENRE_COLUMNS,
  type GenreDto,
  GENRES_FTS,
  itemsOf,
  MAX_TIES,
  type Ranked,
  type SectionSpec,
  type Sizes,
  TRACKS,
  termsOf,
} from './search-ranker.js';

/** Match counts (per term, per section) are estimates for choosing a plan: recounted at most this often. */
const COUNTS_MAX_AGE_MS = 60_000;
const COUNTS_MAX_ENTRIES = 4096;

/** Largest code point: `name < prefix + TOP` holds for every name that starts with `prefix`. */
const TOP = String.fromCodePoint(0x10ffff);

const bm25Args = (w: readonly number[]) => w.map((x) => `, ${x.toFixed(1)}`).join('');

/** Capped match counts by section and query, dropped when stale (they only steer the plan). */
export class TermCounts {
  private readonly map = new Map<string, number>();
  private since = 0;
  private version = '';

  /** A new database version keeps the counts until they are {@link COUNTS_MAX_AGE_MS} old. */
  validate(version: string, now: number): void {
    if (version === this.version) return;
    this.version = version;
    if (now - this.since >= COUNTS_MAX_AGE_MS || this.map.size >= COUNTS_MAX_ENTRIES) this.clear(now);
  }

  get(key: string): number | undefined {
    return this.map.get(key);
  }

  set(key: string, n: number): void {
    if (this.map.size >= COUNTS_MAX_ENTRIES) this.map.clear();
    this.map.set(key, n);
  }

  clear(now = 0): void {
    this.map.clear();
    this.since = now;
  }
}

/** One section (tracks, albums or artists): bm25 for narrow queries, name order for broad ones. */
class SqlSection<Row extends { id: string }, Dto> {
  private readonly bm25;
  private readonly probe;
  private readonly byName;
  private readonly fill;

  constructor(
    sqlite: SQLite.Database,
    private readonly spec: SectionSpec<Row, Dto>,
    private readonly counts: TermCounts,
  ) {
    const { fts, table, name, columns } = spec;
    // Rank inside the FTS table first (LIMIT applied there), then join the few winners. With a
    // tie-break, rows tied with the last winner are joined too (up to MAX_TIES) so that the
    // tie-break, not chance, picks among them (as a mirror does).
    this.bm25 = sqlite.prepare(
      `select ${columns} from
         (select rowid, bm25(${fts}${bm25Args(spec.weights)}) as score from ${fts} where ${fts} match @match order by score limit @inner) f
       join search_keys k on k.rowid = f.rowid join ${table} t on t.id = k.item_id
       order by f.score${spec.tieBreak ? `, ${spec.tieBreak}, f.rowid` : ''} limit @limit`,
    );
    // Stops counting at BROAD_MATCHES + 1: a broad prefix costs about as much as a narrow one.
    this.probe = sqlite.prepare(
      `select count(*) as n from (select 1 from ${fts} where ${fts} match ? limit ${BROAD_MATCHES + 1})`,
    );
    this.byName = sqlite.prepare(
      `select ${columns} from ${table} t
       where t.${name} >= @lo collate nocase and t.${name} < @hi collate nocase
       order by t.${name} collate nocase limit @n`,
    );
    this.fill = sqlite.prepare(
      `select ${columns} from (select rowid from ${fts} where ${fts} match @match limit @n) f
       join search_keys k on k.rowid = f.rowid join ${table} t on t.id = k.item_id`,
    );
  }

  rank(match: string, terms: string[], limit: number): Item<Dto>[] {
    if (limit === 0) return [];
    return itemsOf(this.spec, this.isBroad(match, terms) ? this.broad(match, terms, limit) : this.ranked(match, limit));
  }

  /** More than {@link BROAD_MATCHES} matches (per-term counts are kept). */
  private isBroad(match: string, terms: string[]): boolean {
    let fewest = Number.POSITIVE_INFINITY;
    for (const term of terms) fewest = Math.min(fewest, this.count(`"${term}"*`));
    if (fewest <= BROAD_MATCHES) return false;
    return terms.length === 1 || this.count(match) > BROAD_MATCHES;
  }

  private count(match: string): number {
    const key = `${this.spec.fts}\u0000${match}`;
    let n = this.counts.get(key);
    if (n === undefined) {
      n = (this.probe.get(match) as { n: number }).n;
      this.counts.set(key, n);
    }
    return n;
  }

  private ranked(match: string, limit: number): Row[] {
    const inner = this.spec.tieBreak ? limit + MAX_TIES : limit;
    return this.bm25.all({ match, inner, limit }) as Row[];
  }

  /** Names starting with the typed words (alphabetical), then other matches, name matches first. */
  private broad(match: string, terms: string[], limit: number): Row[] {
    const lo = terms.join(' ');
    const page = new BroadPage(this.byName.all({ lo, hi: lo + TOP, n: limit }) as Row[], limit);
    for (const m of [`{${this.spec.ftsName}} : (${match})`, match]) {
      if (page.full) break;
      page.add(this.fill.all({ match: m, n: page.wanted }) as Row[]);
    }
    return page.rows;
  }
}

/** Ranks every section of a query over FTS5 and the catalog tables (module comment). */
export class SqlRanker {
  private readonly counts = new TermCounts();
  private readonly tracks;
  private readonly albums;
  private readonly artists;
  private readonly genres;

  constructor(sqlite: SQLite.Database) {
    this.tracks = new SqlSection(sqlite, TRACKS, this.counts);
    this.albums = new SqlSection(sqlite, ALBUMS, this.counts);
    this.artists = new SqlSection(sqlite, ARTISTS, this.counts);
    this.genres = sqlite.prepare(
      `select ${GENRE_COLUMNS} from
         (select rowid, bm25(${GENRES_FTS}) as score from ${GENRES_FTS} where ${GENRES_FTS} match ? order by score limit ?) f
       join search_keys k on k.rowid = f.rowid join genres g on g.id = k.item_id order by f.score`,
    );
  }

  /** `version` identifies the database state the caller validated (kept match counts go when it changes). */
  rank(match: string, sizes: Sizes, version: string): Ranked {
    return toRanked(this.rankItems(match, sizes, version));
  }

  /** The same answer as JSON bytes (search-json.ts). */
  rankJson(match: string, sizes: Sizes, version: string): RankedJson {
    return assembleJson(this.rankItems(match, sizes, version));
  }

  /** Forget kept match counts (memory). */
  clear(): void {
    this.counts.clear();
  }

  private rankItems(match: string, sizes: Sizes, version: string): RankedItems {
    this.counts.validate(version, Date.now());
    const terms = termsOf(match);
    return {
      tracks: this.tracks.rank(match, terms, sizes[0]),
      albums: this.albums.rank(match, terms, sizes[1]),
      artists: this.artists.rank(match, terms, sizes[2]),
      genres: sizes[3] === 0 ? [] : (this.genres.all(match, sizes[3]) as GenreDto[]),
    };
  }
}
