/**
 * The mirror plan of local search: ranks over the in-memory mirrors on the event loop, in tens of
 * microseconds, with no SQL but a few genre rows (README.md here, "In-memory mirrors"). It answers
 * only when it can give the SQL plan's very bytes (search-sql-plan.ts; tested byte for byte):
 * every mirror built and current, and every word one FTS5 folds to a single known token. Otherwise {@link MirrorRanker.rankJson} returns null and the caller asks the SQL
 * plan.
 *
 * The same two ways to rank a section as the SQL plan: bm25 while a query matches at most
 * {@link BROAD_MATCHES} rows (the FTS mirror), else names starting with the typed text (the row
 * mirror's name order) then other matches in rowid order (the FTS mirror).
 */
import type SQLite from 'better-sqlite3';
import { TOKENIZE } from '../db/migrations/0006_search_prefixes.js';
import { WordFolder } from './search-folder.js';
import { FtsMirror } from './search-fts-mirror.js';
import { assembleJson, dtoOf, type Item, inScoreOrder, type RankedJson } from './search-json.js';
import {
  ALBUMS,
  ARTISTS,
  BROAD_MATCHES,
  GENRE_COLUMNS,
  type GenreDto,
  GENRES_FTS,
  type SectionSpec,
  type Sizes,
  TRACKS,
  termsOf,
} from './search-ranker.js';
import { type MirroredRow, RowMirror } from './search-row-mirror.js';
import { MirrorKeeper, type SteppedMirror } from './search-stepped.js';

/** One section's mirrors: its FTS index and its rows. */
class MirrorSection<Row extends { id: string }, Dto> {
  readonly fts: FtsMirror;
  readonly rows: RowMirror<Row>;

  constructor(
    sqlite: SQLite.Database,
    private readonly spec: SectionSpec<Row, Dto>,
  ) {
    const { fts, weights, table, name, columns, dto, tie } = spec;
    this.fts = new FtsMirror(sqlite, fts, weights);
    this.rows = new RowMirror<Row>(sqlite, {
      table,
      nameColumn: name,
      columns,
      id: (row) => row.id,
      name: (row) => String((row as Record<string, unknown>)[name] ?? ''),
      json: (row) => JSON.stringify(dto(row)),
      tie,
    });
  }

  /** The section's results, or null when the mirrors disagree (a row one of them lacks). */
  rank(folded: string[], terms: string[], limit: number): Item<Dto>[] | null {
    if (limit === 0) return [];
    const scored = this.fts.rank(folded, limit, BROAD_MATCHES);
    if (scored === null) return this.broad(folded, terms, limit);
    const rows = this.rows;
    // Rows tied with the last one matter only to a section with its own tie-break.
    if (this.spec.tie === undefined) {
      // Already in score order: every row present, or no answer.
      const n = Math.min(limit, scored.length);
      const items: Item<Dto>[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const at = rows.indexOf(scored[i].rowid);
        if (at < 0) return null;
        items[i] = rows.resultAt(at);
      }
      return items;
    }
    // Ties in score go to the higher tie value, then FTS rowid (scored's order): inScoreOrder's
    // order, over row indexes, so only the `limit` results kept become objects (up to limit +
    // MAX_TIES rows are scored).
    const n = scored.length;
    const at = new Int32Array(n);
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      at[i] = rows.indexOf(scored[i].rowid);
      if (at[i] < 0) return null;
      order[i] = i;
    }
    order.sort((a, b) => scored[a].score - scored[b].score || rows.tieAt(at[b]) - rows.tieAt(at[a]) || a - b);
    const items: Item<Dto>[] = new Array(Math.min(limit, n));
    for (let i = 0; i < items.length; i++) items[i] = rows.resultAt(at[order[i]]);
    return items;
  }

  /** The broad plan: names from the row mirror in the name index's order, then FTS matches in rowid order. */
  private broad(folded: string[], terms: string[], limit: number): Item<Dto>[] | null {
    const items = this.rows.startingWith(terms.join(' '), limit).map((r) => item<Dto>(r));
    if (items.length >= limit) return items;
    const seen = new Set(items.map((i) => i.id));
    for (const nameOnly of [true, false]) {
      for (const rowid of this.fts.matchesInOrder(folded, limit + seen.size, nameOnly)) {
        const r = this.rows.get(rowid);
        if (!r) return null;
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        items.push(item(r));
        if (items.length >= limit) return items;
      }
    }
    return items;
  }
}

const item = <Dto>(r: MirroredRow): Item<Dto> => ({ id: r.id, dto: null, json: r.json, tie: r.tie });

/** The in-memory plan (module comment): built on demand, kept current in steps, dropped on `clear`. */
export class MirrorRanker {
  private readonly tracks;
  private readonly albums;
  private readonly artists;
  private readonly genreMirror: FtsMirror;
  private readonly genresByRowids;
  private readonly keeper: MirrorKeeper;
  /** Opened on the first query that needs folding, not at start-up (its own SQLite connection; issue 16). */
  private folderInstance: WordFolder | null = null;
  private get folder(): WordFolder {
    this.folderInstance ??= new WordFolder(TOKENIZE);
    return this.folderInstance;
  }
  private readonly all: SteppedMirror<unknown>[];
  private version = '';
  private keeping = false;

  constructor(sqlite: SQLite.Database) {
    this.tracks = new MirrorSection(sqlite, TRACKS);
    this.albums = new MirrorSection(sqlite, ALBUMS);
    this.artists = new MirrorSection(sqlite, ARTISTS);
    this.genreMirror = new FtsMirror(sqlite, GENRES_FTS, []);
    // The few genre rows are read from the database (a tiny table).
    this.genresByRowids = sqlite.prepare(
      `select ${GENRE_COLUMNS}, k.rowid as search_rowid from search_keys k join genres g on g.id = k.item_id
       where k.rowid in (select value from json_each(?))`,
    );
    this.all = [this.tracks, this.albums, this.artists].flatMap((s) => [s.fts, s.rows]);
    this.all.push(this.genreMirror);
    this.keeper = new MirrorKeeper(this.all);
  }

  /** Whether every mirror is built and current. */
  get ready(): boolean {
    return this.all.every((m) => m.ready);
  }

  /** Starts keeping the mirrors current in the background (steps between requests), once. */
  keep(): void {
    if (this.keeping) return;
    this.keeping = true;
    this.keeper.changed();
  }

  /** Builds the mirrors now, in one go (tests and benches). */
  buildNow(): boolean {
    return this.all.every((m) => m.buildNow());
  }

  /**
   * The answer from the mirrors, or null when they cannot give the SQL plan's answer (module
   * comment). `version` identifies the database state the caller validated: when it moves, the
   * mirrors compare themselves with the database.
   */
  rankJson(match: string, sizes: Sizes, version: string): RankedJson | null {
    if (version !== this.version) {
      this.version = version;
      this.keeper.changed();
    }
    if (!this.ready) return null;
    const terms = termsOf(match);
    const folded = this.folder.foldAll(terms);
    if (!folded) return null;
    const tracks = this.tracks.rank(folded, terms, sizes[0]);
    if (!tracks) return null;
    const albums = this.albums.rank(folded, terms, sizes[1]);
    if (!albums) return null;
    const artists = this.artists.rank(folded, terms, sizes[2]);
    if (!artists) return null;
    const genres = this.genres(folded, sizes[3]);
    if (!genres) return null;
    return assembleJson({ tracks, albums, artists, genres });
  }

  /** Genres are few: always bm25 over the genre mirror, rows read by rowid. */
  private genres(folded: string[], limit: number): GenreDto[] | null {
    if (limit === 0) return [];
    const scored = this.genreMirror.rank(folded, limit, Number.POSITIVE_INFINITY);
    if (scored === null) return null;
    if (scored.length === 0) return [];
    const rows = this.genresByRowids.all(JSON.stringify(scored.map((s) => s.rowid))) as (GenreDto & {
      search_rowid: number;
    })[];
    const byRowid = new Map(
      rows.map(({ search_rowid, ...dto }) => [search_rowid, { id: dto.id, dto, json: null, tie: 0 }]),
    );
    return inScoreOrder(scored, (rowid) => byRowid.get(rowid), limit, false).map(dtoOf);
  }

  /** Drops the mirrors (memory); the next {@link keep} builds them again. */
  clear(): void {
    this.keeper.stop();
    this.keeping = false;
    this.version = '';
  }

  /** For good: also closes the word folder's connection. */
  close(): void {
    this.clear();
    this.folderInstance?.close();
    this.folderInstance = null;
  }
}
