/**
 * The mirror plan of local search on PostgreSQL (README.md here, "Search on PostgreSQL"): the
 * search tables of migration 0019 and the rows they point to, in memory, so most misses are
 * answered on the event loop with no SQL. It gives exactly the SQL plan's answer
 * (search-pg-plan.ts; tested for random queries in search-pg-mirror.test.ts) or nothing:
 * - narrow queries: the same matches (every word a prefix of a lexeme of the row), ranked by
 *   `ts_rank` recomputed bit for bit (search-pg-rank.ts), ties by the artists' track count, then
 *   insertion order;
 * - broad queries: names starting with the typed text in the `nocase` collation's order (as
 *   PostgreSQL sorted them; the range is found with this runtime's ICU, used only when it orders
 *   every name as PostgreSQL did), then other matches, name matches first, in insertion order.
 *
 * Freshness: the mirror holds one consistent snapshot (search-pg-mirror-build.ts) stamped with
 * the catalog version it saw, and answers only while the caller's catalog version (PgWriteWatch,
 * polled at most every 250 ms) is that one: a catalog write by any replica stops it within the
 * poll. It is rebuilt once the catalog has been quiet for {@link QUIET_MS}, built on the first
 * search and dropped with the answers after idle minutes.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { type Item, type RankedJson, assembleJson } from './search-json.js';
import {
  buildSection,
  inSnapshot,
  NOCASE,
  type PgSectionSnapshot,
  type PgSectionSource,
} from './search-pg-mirror-build.js';
import { PG_WEIGHTS, TOP } from './search-pg-plan.js';
import { rowMatches, tsRank, wordRanges } from './search-pg-rank.js';
import {
  ALBUMS,
  ARTISTS,
  BROAD_MATCHES,
  type GenreDto,
  MAX_TIES,
  type SectionSpec,
  type Sizes,
  TRACKS,
  termsOf,
} from './search-ranker.js';
import { QUIET_MS } from './search-stepped.js';

/** Folded word lists remembered (texts with letters beyond ASCII), and folded characters. */
const FOLDS_KEPT = 4096;
const CHARS_KEPT = 65_536;
/** Broad word lists remembered per section. */
const BROAD_KEPT = 4096;
const ASCII = /^[\x00-\x7f]*$/;
/** Where folding looks across characters: combining marks, Greek sigma (final form in lower case). */
const ACROSS = /[\p{M}\u03a3\u03c2\u03c3]/u;

type Snapshot = PgSectionSnapshot;

function sourceOf<Row extends { id: string }, Dto>(spec: SectionSpec<Row, Dto>): PgSectionSource {
  return {
    table: spec.table,
    search: `search_${spec.table}`,
    nameColumn: spec.name,
    columns: spec.columns,
    json: (row) => JSON.stringify(spec.dto(row as Row)),
    tie: spec.tie ? (row) => (spec.tie as (r: Row) => number)(row as Row) : undefined,
    weights: PG_WEIGHTS[spec.table],
  };
}

const GENRE_SOURCE: PgSectionSource = {
  table: 'genres',
  search: 'search_genres',
  nameColumn: 'name',
  columns: 't.id, t.name, t.track_count as "trackCount", t.album_count as "albumCount"',
  json: (row) => JSON.stringify({ id: row.id, name: row.name, trackCount: row.trackCount, albumCount: row.albumCount }),
  weights: PG_WEIGHTS.genres,
};

/** Rows of `s` matching every word (marks from the rarest word's postings), at most `max`, in no order. */
function matches(s: Snapshot, ranges: Int32Array, max: number, mark: Int32Array, gen: number): number[] {
  const { postStart, postRows } = s.terms;
  let rarest = 0;
  let fewest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < ranges.length; i += 2) {
    const n = postStart[ranges[i + 1]] - postStart[ranges[i]];
    if (n < fewest) {
      fewest = n;
      rarest = i;
    }
  }
  const out: number[] = [];
  for (let p = postStart[ranges[rarest]]; p < postStart[ranges[rarest + 1]]; p++) {
    const row = postRows[p];
    if (mark[row] === gen) continue;
    mark[row] = gen;
    if (rowMatches(s.terms, row, ranges, false)) {
      out.push(row);
      if (out.length >= max) break;
    }
  }
  return out;
}

/**
 * The best `k` of `rows` by ts_rank (higher first, then insertion order), best first: a bounded
 * insertion keeps the cut without sorting every match.
 */
function best(s: Snapshot, rows: number[], ranges: Int32Array, k: number): { rows: number[]; scores: number[] } {
  const top: number[] = [];
  const topScores: number[] = [];
  for (const r of rows) {
    const score = tsRank(s.terms, r, ranges, s.tables);
    let at = top.length;
    // Worse than the last kept (lower score, or equal and later): not in the cut.
    if (at === k && (score < topScores[at - 1] || (score === topScores[at - 1] && r > top[at - 1]))) continue;
    while (at > 0 && (score > topScores[at - 1] || (score === topScores[at - 1] && r < top[at - 1]))) at--;
    top.splice(at, 0, r);
    topScores.splice(at, 0, score);
    if (top.length > k) {
      top.pop();
      topScores.pop();
    }
  }
  return { rows: top, scores: topScores };
}

/** The best `limit` rows by ts_rank (ties: tie value when `tie`, then insertion order), as the SQL plan orders them. */
function ranked(s: Snapshot, rows: number[], ranges: Int32Array, limit: number, tie: boolean): number[] {
  if (!tie) return best(s, rows, ranges, limit).rows;
  // The SQL plan's inner cut (score, insertion order; limit + MAX_TIES rows), then its final order.
  const cut = best(s, rows, ranges, limit + MAX_TIES);
  const order = cut.rows.map((_row, i) => i);
  order.sort(
    (a, b) => cut.scores[b] - cut.scores[a] || s.ties[cut.rows[b]] - s.ties[cut.rows[a]] || cut.rows[a] - cut.rows[b],
  );
  return order.slice(0, limit).map((i) => cut.rows[i]);
}

/** One section's mirror: ranks a query into row indexes of its snapshot (null: ask the SQL plan). */
class PgMirrorSection {
  private mark = new Int32Array(0);
  private gen = 0;
  /** Words known to match more than BROAD_MATCHES rows of `known`'s snapshot (search-as-you-type repeats them). */
  private broadWords = new Set<string>();
  private known: Snapshot | null = null;

  constructor(readonly tie: boolean) {}

  private nextGen(s: Snapshot): number {
    if (this.mark.length !== s.seqs.length || this.gen >= 0x7fffffff) {
      this.mark = new Int32Array(s.seqs.length);
      this.gen = 0;
    }
    return ++this.gen;
  }

  rank(s: Snapshot, words: string[], terms: string[], limit: number, broadAllowed = true): number[] | null {
    if (limit === 0 || words.length === 0) return [];
    const ranges = wordRanges(s.terms, words);
    if (!ranges) return [];
    if (this.known !== s) {
      this.known = s;
      this.broadWords = new Set();
    }
    const key = words.join(' ');
    if (broadAllowed && this.broadWords.has(key)) return this.broad(s, ranges, terms, limit);
    const gen = this.nextGen(s);
    const max = broadAllowed ? BROAD_MATCHES + 1 : Number.POSITIVE_INFINITY;
    const found = matches(s, ranges, max, this.mark, gen);
    if (found.length <= BROAD_MATCHES || !broadAllowed) return ranked(s, found, ranges, limit, this.tie);
    if (this.broadWords.size >= BROAD_KEPT) this.broadWords.clear();
    this.broadWords.add(key);
    return this.broad(s, ranges, terms, limit);
  }

  /** Names in the `nocase` range of the typed text, then other matches (name matches first) in insertion order. */
  private broad(s: Snapshot, ranges: Int32Array, terms: string[], limit: number): number[] | null {
    if (!s.nameOrderAgrees) return null;
    const lo = terms.join(' ');
    const hi = lo + TOP;
    let a = 0;
    let b = s.byName.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (NOCASE.compare(s.names.at(s.byName[mid]), lo) < 0) a = mid + 1;
      else b = mid;
    }
    const out: number[] = [];
    const seen = new Set<number>();
    for (let k = a; k < s.byName.length && out.length < limit; k++) {
      const row = s.byName[k];
      if (NOCASE.compare(s.names.at(row), hi) >= 0) break;
      out.push(row);
      seen.add(row);
    }
    if (out.length >= limit) return out;
    // Other matches in insertion order: every row the rarest word reaches is marked, then the
    // marked rows are checked in row order until the page is full.
    const gen = this.nextGen(s);
    const { postStart, postRows } = s.terms;
    let rarest = 0;
    for (let i = 2; i < ranges.length; i += 2) {
      if (postStart[ranges[i + 1]] - postStart[ranges[i]] < postStart[ranges[rarest + 1]] - postStart[ranges[rarest]])
        rarest = i;
    }
    let first = s.seqs.length;
    let last = -1;
    for (let p = postStart[ranges[rarest]]; p < postStart[ranges[rarest + 1]]; p++) {
      const row = postRows[p];
      this.mark[row] = gen;
      if (row < first) first = row;
      if (row > last) last = row;
    }
    for (const nameOnly of [true, false]) {
      for (let row = first; row <= last && out.length < limit; row++) {
        if (this.mark[row] !== gen || seen.has(row) || !rowMatches(s.terms, row, ranges, nameOnly)) continue;
        seen.add(row);
        out.push(row);
      }
    }
    return out;
  }
}

/** Row `i` of a snapshot as an answer item (its JSON bytes). */
const itemOf = <Dto>(s: Snapshot, i: number): Item<Dto> => ({
  id: s.ids.at(i),
  dto: null,
  json: s.bytes.subarray(s.starts[i], s.ends[i]),
  tie: s.ties[i],
});

interface Built {
  version: string;
  tracks: Snapshot;
  albums: Snapshot;
  artists: Snapshot;
  genres: Snapshot;
}

/** The PostgreSQL mirrors and their keeping (module comment). */
export class PgMirrorRanker {
  private built: Built | null = null;
  private building: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The last catalog version a caller saw, and since when. */
  private seen = '';
  private seenAt = 0;
  private stopped = true;
  private readonly folds = new Map<string, string[]>();
  /** Single characters as PostgreSQL folds them. */
  private readonly chars = new Map<string, string>();
  private readonly sections = {
    tracks: new PgMirrorSection(false),
    albums: new PgMirrorSection(false),
    artists: new PgMirrorSection(true),
    genres: new PgMirrorSection(false),
  };
  /** Builds done, the last one's duration, and why the last one failed (tests, benches). */
  builds = 0;
  buildMs = 0;
  buildError: unknown = null;

  constructor(
    private readonly db: Kysely<Database>,
    /** A fresh catalog version (the search's poll). */
    private readonly currentVersion: () => Promise<string>,
  ) {}

  /** Whether the mirrors are built for catalog version `version`. */
  readyFor(version: string): boolean {
    return this.built?.version === version;
  }

  /** A caller saw catalog version `version`: keep the mirrors built for it (first use builds at once). */
  observe(version: string): void {
    const now = Date.now();
    if (version !== this.seen) {
      const first = this.seen === '' && this.built === null;
      this.seen = version;
      this.seenAt = first ? Number.NEGATIVE_INFINITY : now;
    }
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.building || this.timer || this.built?.version === this.seen) return;
    const wait = Math.max(0, this.seenAt + QUIET_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.rebuild().catch((error: unknown) => {
        // The poll failed (the database is away): the SQL plan fails too; the next search retries.
        this.buildError = error;
      });
    }, wait);
    this.timer.unref();
  }

  /** Rebuilds when the catalog has been quiet (the version polled afresh has not moved for QUIET_MS). */
  private async rebuild(): Promise<void> {
    if (this.stopped) return;
    const version = await this.currentVersion();
    if (version !== this.seen) {
      this.seen = version;
      this.seenAt = Date.now();
      return this.schedule();
    }
    if (Date.now() - this.seenAt < QUIET_MS) return this.schedule();
    await this.buildNow();
    this.schedule();
  }

  /** Builds the mirrors now from one snapshot (tests and benches; the search schedules it itself). */
  buildNow(): Promise<void> {
    if (!this.building) {
      const started = performance.now();
      this.building = inSnapshot(this.db, async (trx) => ({
        tracks: await buildSection(trx, sourceOf(TRACKS)),
        albums: await buildSection(trx, sourceOf(ALBUMS)),
        artists: await buildSection(trx, sourceOf(ARTISTS)),
        genres: await buildSection(trx, GENRE_SOURCE),
      }))
        .then(({ version, value }) => {
          if (this.stopped) return;
          this.built = { version, ...value };
          this.builds++;
          this.buildMs = performance.now() - started;
          this.buildError = null;
        })
        .catch((error: unknown) => {
          // The SQL plan keeps answering; the next catalog change tries again.
          this.buildError = error;
        })
        .finally(() => {
          this.building = null;
        });
    }
    return this.building;
  }

  /**
   * The words as PostgreSQL folds them (`earshot_search_text`: NFKC, unaccent, ICU lower case,
   * non-letters/digits to spaces). ASCII folds here; other text character by character, each
   * character folded by PostgreSQL once and kept (the words are NFKC already, and each step works
   * on single characters), except where a step looks across characters: combining marks (an
   * unaccent rule may match a sequence) and Greek sigma (lower case depends on the word's end),
   * whose whole text PostgreSQL folds (kept too).
   */
  private fold(words: string): string[] | Promise<string[]> {
    const split = (text: string) => text.split(' ').filter((w) => w !== '');
    if (ASCII.test(words)) return split(words.toLowerCase());
    const kept = this.folds.get(words);
    if (kept) return kept;
    const keep = (folded: string[]) => {
      if (this.folds.size >= FOLDS_KEPT) this.folds.clear();
      this.folds.set(words, folded);
      return folded;
    };
    if (ACROSS.test(words)) {
      return sql<{ t: string | null }>`select earshot_search_text(${words}) as t`
        .execute(this.db)
        .then(({ rows }) => keep(split(rows[0]?.t ?? '')));
    }
    const chars = Array.from(words);
    const unknown = [...new Set(chars.filter((c) => !this.chars.has(c)))];
    const join = () => keep(split(chars.map((c) => this.chars.get(c) ?? ' ').join('')));
    if (unknown.length === 0) return join();
    return sql<{ c: string; t: string | null }>`select c, earshot_search_text(c) as t from unnest(${unknown}::text[]) c`
      .execute(this.db)
      .then(({ rows }) => {
        if (this.chars.size >= CHARS_KEPT) this.chars.clear();
        for (const r of rows) this.chars.set(r.c, r.t ?? ' ');
        return join();
      });
  }

  /**
   * The answer from the mirrors for catalog version `version`, or null when they cannot give
   * the SQL plan's (not built for that version, a broad query the local ICU cannot place).
   */
  rankJson(match: string, sizes: Sizes, version: string): RankedJson | null | Promise<RankedJson | null> {
    this.observe(version);
    if (!this.readyFor(version)) return null;
    const terms = termsOf(match);
    const folded = this.fold(terms.join(' '));
    if (folded instanceof Promise) return folded.then((words) => this.rankFolded(words, terms, sizes, version));
    return this.rankFolded(folded, terms, sizes, version);
  }

  private rankFolded(words: string[], terms: string[], sizes: Sizes, version: string): RankedJson | null {
    const b = this.built;
    if (!b || b.version !== version) return null;
    const tracks = this.sections.tracks.rank(b.tracks, words, terms, sizes[0]);
    const albums = tracks && this.sections.albums.rank(b.albums, words, terms, sizes[1]);
    const artists = albums && this.sections.artists.rank(b.artists, words, terms, sizes[2]);
    const genres = artists && this.sections.genres.rank(b.genres, words, terms, sizes[3], false);
    if (!tracks || !albums || !artists || !genres) return null;
    const g = b.genres;
    return assembleJson({
      tracks: tracks.map((i) => itemOf(b.tracks, i)),
      albums: albums.map((i) => itemOf(b.albums, i)),
      artists: artists.map((i) => itemOf(b.artists, i)),
      genres: genres.map((i) => JSON.parse(g.bytes.toString('utf8', g.starts[i], g.ends[i])) as GenreDto),
    });
  }

  /** Drops the mirrors (memory); the next search builds them again. */
  clear(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.built = null;
    this.seen = '';
    this.folds.clear();
  }
}
