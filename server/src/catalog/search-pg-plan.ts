/**
 * The PostgreSQL plan of local search: the same sections, weights and two ways of ranking as the
 * FTS5 SQL plan (search-sql-plan.ts, README.md here "Ranking"), over the search tables of
 * migration 0019 (a `tsvector` per catalog row with a GIN index, kept current by triggers).
 *
 * - The typed words reach SQL as one bound parameter and become a tsquery inside PostgreSQL
 *   (`earshot_search_query`: folded like the index, every word a prefix term, all required), so
 *   no user text is ever parsed as tsquery syntax.
 * - **Narrow queries** (at most {@link BROAD_MATCHES} matches; one statement reads up to one more
 *   match, counts and ranks them): `ts_rank` with the column weights
 *   of bm25 (title 10 : artist 5 : album 3 : genre 1 → weights A 1.0, B 0.5, C 0.3, D 0.1; albums
 *   name 10 : artist 4 : genre 1) and length normalization, best first; ties go by the artists'
 *   track count, then by insertion order (the FTS rowid's role on SQLite).
 * - **Broad queries**: names that start with the typed text (`collate nocase`, the name index),
 *   then other matches, name matches first (`:*A`), in insertion order.
 * Rank values differ from bm25's, so the two engines may order narrow answers differently; the
 * sets they match are the same (search-engines.test.ts).
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { type Item, type RankedItems, toRanked } from './search-json.js';
import {
  ALBUMS,
  ARTISTS,
  BroadPage,
  BROAD_MATCHES,
  type GenreDto,
  itemsOf,
  MAX_TIES,
  type Ranked,
  type SectionSpec,
  type Sizes,
  TRACKS,
  termsOf,
} from './search-ranker.js';
import { TermCounts } from './search-sql-plan.js';

/** Sorts after every name that starts with a prefix under ICU's root collation (U+FFFF weighs most). */
export const TOP = '\uffff';

/** ts_rank's weights {D, C, B, A} per section (bm25's column weights over 10). */
export const PG_WEIGHTS: Record<string, string> = {
  tracks: '{0.1,0.3,0.5,1.0}',
  albums: '{0.1,0,0.4,1.0}',
  artists: '{0.1,0.2,0.4,1.0}',
  genres: '{0.1,0.2,0.4,1.0}',
};
/** ts_rank normalization 1: divided by 1 + log(length), so short titles win as with bm25. */
const NORMALIZATION = 1;

/** One section (tracks, albums or artists) on PostgreSQL. */
class PgSection<Row extends { id: string }, Dto> {
  private readonly search: string;
  private readonly weights;
  private readonly columns;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly spec: SectionSpec<Row, Dto>,
    private readonly counts: TermCounts,
  ) {
    this.search = `search_${spec.table}`;
    this.weights = PG_WEIGHTS[spec.table];
    this.columns = sql.raw(spec.columns);
  }

  async rank(words: string, terms: string[], limit: number): Promise<Item<Dto>[]> {
    if (limit === 0) return [];
    let rows: Row[] | null = null;
    const key = `${this.search}\u0000${words}`;
    // Whether a query is broad is its match count (at most BROAD_MATCHES): on FTS5 per-term counts
    // avoid counting a whole AND query, here one statement counts and ranks (kept: known broad).
    if ((this.counts.get(key) ?? 0) <= BROAD_MATCHES) {
      rows = await this.ranked(words, limit);
      if (rows === null) this.counts.set(key, BROAD_MATCHES + 1);
    }
    rows ??= await this.broad(words, terms, limit);
    return itemsOf(this.spec, rows);
  }

  /**
   * The best `limit` matches by rank, in one statement that first reads at most
   * BROAD_MATCHES + 1 matches; null when there are more (a broad query: nothing is ranked).
   */
  private async ranked(words: string, limit: number): Promise<Row[] | null> {
    const { spec } = this;
    const inner = spec.tieBreak ? limit + MAX_TIES : limit;
    const tie = spec.tieBreak ? sql.raw(`${spec.tieBreak}, `) : sql.raw('');
    const { rows } = await sql<Row & { matched: number }>`with m as materialized (
         select s.id, s.seq, s.doc from ${sql.table(this.search)} s
         where s.doc @@ earshot_search_query(${words}) limit ${BROAD_MATCHES + 1}),
       c as (select count(*)::int as matched from m)
       select c.matched, r.* from c left join lateral (
         select ${this.columns}, f.score as __score, f.seq as __seq from
           (select m.id, m.seq, ts_rank(${this.weights}::float4[], m.doc, earshot_search_query(${words}), ${sql.lit(NORMALIZATION)}) as score
            from m where c.matched <= ${BROAD_MATCHES} order by score desc, m.seq limit ${inner}) f
         join ${sql.table(spec.table)} t on t.id = f.id
         order by f.score desc, ${tie}f.seq limit ${limit}) r on true
       order by r.__score desc, ${spec.tieBreak ? sql.raw(`r.${spec.tieBreak.replace(/^t\./, '')}, `) : sql.raw('')}r.__seq`.execute(
      this.db,
    );
    if ((rows[0]?.matched ?? 0) > BROAD_MATCHES) return null;
    const found: Row[] = [];
    for (const r of rows) {
      if (r.id === null) continue; // the count's row when nothing matched
      const row: Record<string, unknown> = { ...r };
      delete row.matched;
      delete row.__score;
      delete row.__seq;
      found.push(row as Row);
    }
    return found;
  }

  /** Names starting with the typed words (alphabetical), then other matches, name matches first. */
  private async broad(words: string, terms: string[], limit: number): Promise<Row[]> {
    const { spec } = this;
    const name = sql.ref(`t.${spec.name}`);
    const lo = terms.join(' ');
    const { rows } = await sql<Row>`select ${this.columns} from ${sql.table(spec.table)} t
       where ${name} >= ${lo} collate nocase and ${name} < ${lo + TOP} collate nocase
       order by ${name} collate nocase, t.id limit ${limit}`.execute(this.db);
    const page = new BroadPage(rows, limit);
    for (const weight of ['A', '']) {
      if (page.full) break;
      const { rows: more } = await sql<Row>`select ${this.columns} from
          (select s.id, s.seq from ${sql.table(this.search)} s where s.doc @@ earshot_search_query(${words}, ${weight})
           order by s.seq limit ${page.wanted}) f
         join ${sql.table(spec.table)} t on t.id = f.id order by f.seq`.execute(this.db);
      page.add(more);
    }
    return page.rows;
  }
}

/** Ranks every section of a query over PostgreSQL's search tables (module comment). */
export class PgRanker {
  private readonly counts = new TermCounts();
  private readonly tracks;
  private readonly albums;
  private readonly artists;

  constructor(private readonly db: Kysely<Database>) {
    this.tracks = new PgSection(db, TRACKS, this.counts);
    this.albums = new PgSection(db, ALBUMS, this.counts);
    this.artists = new PgSection(db, ARTISTS, this.counts);
  }

  /** `version` identifies the catalog state the caller validated (kept match counts go when it changes). */
  async rank(match: string, sizes: Sizes, version: string): Promise<Ranked> {
    this.counts.validate(version, Date.now());
    const terms = termsOf(match);
    const words = terms.join(' ');
    // Sections in parallel on the pool: a miss costs the slowest section, not their sum.
    const [tracks, albums, artists, genres] = await Promise.all([
      this.tracks.rank(words, terms, sizes[0]),
      this.albums.rank(words, terms, sizes[1]),
      this.artists.rank(words, terms, sizes[2]),
      this.genres(words, sizes[3]),
    ]);
    const items: RankedItems = { tracks, albums, artists, genres };
    return toRanked(items);
  }

  /** Forget kept match counts (memory). */
  clear(): void {
    this.counts.clear();
  }

  /** Genres are few: always ranked. */
  private async genres(words: string, limit: number): Promise<GenreDto[]> {
    if (limit === 0) return [];
    const { rows } =
      await sql<GenreDto>`select g.id, g.name, g.track_count as "trackCount", g.album_count as "albumCount" from
        (select s.id, s.seq, ts_rank(${PG_WEIGHTS.genres}::float4[], s.doc, earshot_search_query(${words}), ${sql.lit(NORMALIZATION)}) as score
         from search_genres s where s.doc @@ earshot_search_query(${words}) order by score desc, s.seq limit ${limit}) f
       join genres g on g.id = f.id order by f.score desc, f.seq`.execute(this.db);
    return rows;
  }
}
