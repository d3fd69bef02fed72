/**
 * The FTS5 part of local search: for one FTS query, the best tracks, albums, artists and genres as
 * DTOs (with `liked: false`; liked flags are per user and added by the caller). Used on the main
 * connection and, off the event loop, by the search reader thread (search-worker.ts) on its own
 * read-only connection.
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
import type { Selectable } from 'kysely';
import type { AlbumsTable, ArtistsTable } from '../db/schema.js';
import {
  type AlbumDto,
  type ArtistDto,
  TRACK_DTO_COLUMNS,
  type TrackDto,
  type TrackDtoRow,
  toAlbumDto,
  toArtistDto,
  toTrackDto,
} from './dto.js';
import { TOKENIZE } from '../db/migrations/0006_search_prefixes.js';
import {
  FtsMirror,
  MAX_TIES,
  type MirroredRow,
  MirrorKeeper,
  RowMirror,
  type Scored,
  type SteppedMirror,
  WordFolder,
} from './search-mirror.js';

export interface GenreDto {
  id: string;
  name: string;
  trackCount: number;
  albumCount: number;
}

/** One answer: the DTOs with `liked: false`. */
export interface Ranked {
  tracks: TrackDto[];
  albums: AlbumDto[];
  artists: ArtistDto[];
  genres: GenreDto[];
}

/**
 * An answer as the UTF-8 JSON of the search response (`liked: false` throughout) and the ids that
 * need liked flags. The DTO builders (dto.ts) put keys in schema order, so these bytes are what
 * the route's serializer would make of the same answer (tested). Bytes rather than a string: they
 * move between threads without a copy, stay off the JS heap while cached (nothing for the
 * garbage collector to copy), and are written to sockets without encoding.
 */
export interface RankedJson {
  json: Uint8Array;
  ids: { tracks: string[]; albums: string[]; artists: string[] };
}

const utf8 = new TextEncoder();

interface RankedItems {
  tracks: Item<TrackDto>[];
  albums: Item<AlbumDto>[];
  artists: Item<ArtistDto>[];
  genres: GenreDto[];
}

/** Strings and byte views as one UTF-8 buffer with its own ArrayBuffer (transferable). */
function joinBytes(parts: (string | Buffer)[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += typeof p === 'string' ? Buffer.byteLength(p) : p.length;
  const out = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const p of parts) {
    if (typeof p === 'string') at += out.write(p, at);
    else {
      out.set(p, at); // a typed-array copy: cheaper than Buffer#copy for small parts
      at += p.length;
    }
  }
  return out;
}

export function toRankedJson(ranked: Ranked): RankedJson {
  return {
    // TextEncoder gives a Uint8Array with its own ArrayBuffer (transferable), never a pooled slice.
    json: utf8.encode(JSON.stringify(ranked)),
    ids: {
      tracks: ranked.tracks.map((t) => t.id),
      albums: ranked.albums.map((a) => a.id),
      artists: ranked.artists.map((a) => a.id),
    },
  };
}

/** A genre's DTO columns (alias `g`), in GenreDto's key order. */
const GENRE_COLUMNS = 'g.id, g.name, g.track_count as trackCount, g.album_count as albumCount';

/** Section sizes: tracks, albums, artists, genres. */
export type Sizes = readonly [number, number, number, number];

/** A section query matching more rows than this is ranked the broad way (module comment). */
export const BROAD_MATCHES = 1500;
/** Match counts (per term, per section) are estimates for choosing a plan: recounted at most this often. */
const COUNTS_MAX_AGE_MS = 60_000;
const COUNTS_MAX_ENTRIES = 4096;

/** The words of an FTS query made by `toFtsQuery` (`"el"* "ga"*` → `['el', 'ga']`). */
export function termsOf(match: string): string[] {
  return [...match.matchAll(/"([^"]*)"\*/g)].map((m) => m[1]);
}

/** Largest code point: `name < prefix + TOP` holds for every name that starts with `prefix`. */
const TOP = String.fromCodePoint(0x10ffff);

interface SectionSpec {
  /** FTS table and its bm25 weights (`''` for equal weights; weightList: the same as numbers). */
  fts: string;
  weights: string;
  weightList: readonly number[];
  /** The catalog table, its alias and the name column with a `collate nocase` index. */
  table: string;
  name: string;
  /** Selected columns (alias `t`). */
  columns: string;
  /** Extra ORDER BY terms after the bm25 score. */
  tieBreak?: string;
}

/**
 * One result: its id and its DTO (`liked: false`) as an object or as JSON. Mirror-ranked results
 * are kept as JSON only: one string per result is little for the reader thread's garbage
 * collector to copy, where a DTO is some twenty objects.
 */
export interface Item<Dto> {
  id: string;
  dto: Dto | null;
  /** A string, or bytes from a row mirror. */
  json: string | Buffer | null;
  /** Tie-break value (artists: track count). */
  tie: number;
}

const dtoOf = <Dto>(item: Item<Dto>): Dto => item.dto ?? (JSON.parse(String(item.json)) as Dto);
const jsonOf = <Dto>(item: Item<Dto>): string | Buffer => item.json ?? JSON.stringify(item.dto);

/**
 * Column weights of the FTS tables, as numbers (for the mirrors) and as bm25() arguments. Title
 * matches weigh most, then artist, album, genre (bm25: lower is better).
 */
const WEIGHTS = {
  tracks_fts: [10, 5, 3, 1],
  albums_fts: [10, 4, 1],
  artists_fts: [],
  genres_fts: [],
} as const;
const bm25Args = (w: readonly number[]) => w.map((x) => `, ${x.toFixed(1)}`).join('');

/**
 * `scored` (FTS rowids, best first) as items, cut to `limit`: ties in score go to `tie` (higher
 * first), then FTS rowid. Rows gone meanwhile are left out.
 */
function inScoreOrder<Dto>(
  scored: Scored[],
  itemOf: (rowid: number) => Item<Dto> | undefined,
  limit: number,
  tie: boolean,
): Item<Dto>[] {
  const found: { item: Item<Dto>; score: number; at: number }[] = [];
  for (let i = 0; i < scored.length; i++) {
    const item = itemOf(scored[i].rowid);
    if (item) found.push({ item, score: scored[i].score, at: i });
  }
  if (tie) found.sort((a, b) => a.score - b.score || b.item.tie - a.item.tie || a.at - b.at);
  return found.slice(0, limit).map((f) => f.item);
}

/** One section (tracks, albums or artists): bm25 for narrow queries, name order for broad ones. */
class Section<Row extends { id: string }, Dto> {
  private readonly bm25;
  private readonly probe;
  private readonly byName;
  private readonly fill;
  private readonly byRowids;
  private readonly nameColumn: string;

  private readonly mirror: FtsMirror | null;
  /** Every row's DTO JSON (reader thread only), built beside the FTS mirror. */
  readonly rows: RowMirror<Row> | null;

  constructor(
    sqlite: SQLite.Database,
    private readonly spec: SectionSpec,
    mirrors: boolean,
    private readonly dto: (row: Row) => Dto,
    private readonly tie?: (row: Row) => number,
  ) {
    const { fts, weights, table, name, columns } = spec;
    this.mirror = mirrors ? new FtsMirror(sqlite, fts, spec.weightList) : null;
    this.rows = mirrors
      ? new RowMirror<Row>(sqlite, {
          table,
          nameColumn: name,
          columns,
          id: (row) => row.id,
          name: (row) => String((row as Record<string, unknown>)[name] ?? ''),
          json: (row) => JSON.stringify(dto(row)),
          tie,
        })
      : null;
    this.nameColumn = fts === 'tracks_fts' ? 'title' : 'name';
    // Rank inside the FTS table first (LIMIT applied there), then join the few winners. With a
    // tie-break, rows tied with the last winner are joined too (up to MAX_TIES) so that the
    // tie-break, not chance, picks among them (as a mirror does).
    this.bm25 = sqlite.prepare(
      `select ${columns} from
         (select rowid, bm25(${fts}${weights}) as score from ${fts} where ${fts} match @match order by score limit @inner) f
       join search_keys k on k.rowid = f.rowid join ${table} t on t.id = k.item_id
       order by f.score${spec.tieBreak ? `, ${spec.tieBreak}, f.rowid` : ''} limit @limit`,
    );
    // The rows a mirror ranked (search_rowid: their FTS rowid, for ordering).
    this.byRowids = sqlite.prepare(
      `select ${columns}, k.rowid as search_rowid from search_keys k join ${table} t on t.id = k.item_id
       where k.rowid in (select value from json_each(?))`,
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

  /** More than {@link BROAD_MATCHES} matches (per-term counts come from `counts`). */
  isBroad(match: string, terms: string[], counts: TermCounts): boolean {
    let fewest = Number.POSITIVE_INFINITY;
    for (const term of terms) fewest = Math.min(fewest, this.count(`"${term}"*`, counts));
    if (fewest <= BROAD_MATCHES) return false;
    return terms.length === 1 || this.count(match, counts) > BROAD_MATCHES;
  }

  private count(match: string, counts: TermCounts): number {
    const key = `${this.spec.fts}\u0000${match}`;
    let n = counts.get(key);
    if (n === undefined) {
      n = (this.probe.get(match) as { n: number }).n;
      counts.set(key, n);
    }
    return n;
  }

  ranked(match: string, limit: number): Row[] {
    const inner = this.spec.tieBreak ? limit + MAX_TIES : limit;
    return this.bm25.all({ match, inner, limit }) as Row[];
  }

  /** Names starting with the typed words (alphabetical), then other matches, name matches first. */
  broad(match: string, terms: string[], limit: number): Row[] {
    const lo = terms.join(' ');
    const rows = this.byName.all({ lo, hi: lo + TOP, n: limit }) as Row[];
    if (rows.length >= limit) return rows;
    const seen = new Set(rows.map((r) => r.id));
    for (const m of [`{${this.nameColumn}} : (${match})`, match]) {
      for (const row of this.fill.all({ match: m, n: limit + seen.size }) as Row[]) {
        const id = row.id;
        if (seen.has(id)) continue;
        seen.add(id);
        rows.push(row);
        if (rows.length >= limit) return rows;
      }
    }
    return rows;
  }

  /**
   * `folded`: the words as FTS5 folds them, when a mirror may rank them. Without `sql`, only the
   * mirrors are used, and null means they cannot answer (a broad query, a stale mirror).
   */
  rank(
    match: string,
    terms: string[],
    folded: string[] | null,
    limit: number,
    counts: TermCounts,
    sql = true,
  ): Item<Dto>[] | null {
    if (limit === 0) return [];
    if (folded && this.mirror?.ready) {
      const scored = this.mirror.rank(folded, limit, BROAD_MATCHES);
      if (scored !== null) return this.fromMirror(scored, limit, sql);
      const broad = this.rows?.ready ? this.broadFromMirrors(folded, terms, limit) : null;
      if (broad) return broad;
      return sql ? this.toItems(this.broad(match, terms, limit)) : null;
    }
    if (!sql) return null;
    const rows = this.isBroad(match, terms, counts) ? this.broad(match, terms, limit) : this.ranked(match, limit);
    return this.toItems(rows);
  }

  /** This section's mirrors (none unless asked for). */
  get mirrors(): SteppedMirror<unknown>[] {
    return this.mirror && this.rows ? [this.mirror, this.rows] : [];
  }

  /** The FTS mirror can rank now. */
  get ranksInMemory(): boolean {
    return this.mirror?.ready ?? false;
  }

  private toItems(rows: Row[]): Item<Dto>[] {
    return rows.map((row) => ({ id: row.id, dto: this.dto(row), json: null, tie: 0 }));
  }

  /**
   * {@link broad} from the mirrors: the same rows in the same order (names from the row mirror in
   * the name index's order, then FTS matches in rowid order), or null if they disagree (a row
   * one of them lacks).
   */
  private broadFromMirrors(folded: string[], terms: string[], limit: number): Item<Dto>[] | null {
    const rows = this.rows as RowMirror<Row>;
    const fts = this.mirror as FtsMirror;
    const item = (r: MirroredRow): Item<Dto> => ({ id: r.id, dto: null, json: r.json, tie: r.tie });
    const items = rows.startingWith(terms.join(' '), limit).map(item);
    if (items.length >= limit) return items;
    const seen = new Set(items.map((i) => i.id));
    for (const nameOnly of [true, false]) {
      for (const rowid of fts.matchesInOrder(folded, limit + seen.size, nameOnly)) {
        const r = rows.get(rowid);
        if (!r) return null;
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        items.push(item(r));
        if (items.length >= limit) return items;
      }
    }
    return items;
  }

  /** Items of mirror-ranked rows: from the row mirror, else (with `sql`) read in one statement. */
  private fromMirror(all: Scored[], limit: number, sql: boolean): Item<Dto>[] | null {
    // Rows tied with the last one matter only to a section with its own tie-break.
    const scored = this.tie || all.length <= limit ? all : all.slice(0, limit);
    if (scored.length === 0) return [];
    const rows = this.rows?.ready ? this.rows : null;
    const items = new Map<number, Item<Dto>>();
    const missing: number[] = [];
    for (const s of scored) {
      const row = rows?.get(s.rowid);
      if (row) items.set(s.rowid, { id: row.id, dto: null, json: row.json, tie: row.tie });
      else missing.push(s.rowid);
    }
    if (missing.length > 0) {
      if (!sql) return null;
      for (const row of this.byRowids.all(JSON.stringify(missing)) as (Row & { search_rowid: number })[]) {
        items.set(row.search_rowid, { id: row.id, dto: this.dto(row), json: null, tie: this.tie?.(row) ?? 0 });
      }
    }
    return inScoreOrder(scored, (rowid) => items.get(rowid), limit, this.tie !== undefined);
  }
}

/** Capped match counts by section and query, dropped when stale (they only steer the plan). */
class TermCounts {
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

export class SearchRanker {
  private readonly tracks: Section<TrackDtoRow, TrackDto>;
  private readonly albums: Section<Selectable<AlbumsTable>, AlbumDto>;
  private readonly artists: Section<Selectable<ArtistsTable>, ArtistDto>;
  private readonly stmt;
  private readonly counts = new TermCounts();
  /** The database version of the kept items (search-worker.ts passes `data_version`). */
  private version = '';
  /** Genres' FTS mirror (the other sections keep theirs); reader thread only. */
  private readonly genreMirror: FtsMirror | null;
  private readonly keeper: MirrorKeeper | null;
  private readonly folder: WordFolder | null;

  /**
   * `mirrors`: keep in-memory copies of the FTS indexes and of the catalog rows (search-mirror.ts)
   * and rank with them when they are current (the reader thread).
   */
  constructor(sqlite: SQLite.Database, options: { mirrors?: boolean } = {}) {
    const mirrors = options.mirrors ?? false;
    const section = (fts: keyof typeof WEIGHTS, table: string, name: string, columns: string) => ({
      fts,
      weights: bm25Args(WEIGHTS[fts]),
      weightList: WEIGHTS[fts],
      table,
      name,
      columns,
    });
    this.tracks = new Section(
      sqlite,
      section('tracks_fts', 'tracks', 'title', TRACK_DTO_COLUMNS.map((c) => `t.${c}`).join(', ')),
      mirrors,
      (row) => toTrackDto(row, false),
    );
    this.albums = new Section(sqlite, section('albums_fts', 'albums', 'name', 't.*'), mirrors, (row) =>
      toAlbumDto(row, false),
    );
    this.artists = new Section(
      sqlite,
      { ...section('artists_fts', 'artists', 'name', 't.*'), tieBreak: 't.track_count desc' },
      mirrors,
      (row) => toArtistDto(row, false),
      (row) => row.track_count,
    );
    this.genreMirror = mirrors ? new FtsMirror(sqlite, 'genres_fts', WEIGHTS.genres_fts) : null;
    this.keeper = mirrors ? new MirrorKeeper(this.allMirrors, () => this.onMirrorsReady()) : null;
    this.folder = mirrors ? new WordFolder(TOKENIZE) : null;
    const s = (q: string) => sqlite.prepare(q);
    this.stmt = {
      // Genres are few (hundreds at most): always bm25.
      genres: s(
        `select ${GENRE_COLUMNS} from
           (select rowid, bm25(genres_fts) as score from genres_fts where genres_fts match ? order by score limit ?) f
         join search_keys k on k.rowid = f.rowid join genres g on g.id = k.item_id order by f.score`,
      ),
      genresByRowids: s(
        `select ${GENRE_COLUMNS}, k.rowid as search_rowid from search_keys k join genres g on g.id = k.item_id
         where k.rowid in (select value from json_each(?))`,
      ),
    };
  }

  /** `version` identifies the database state the caller validated (kept results go when it changes). */
  rank(match: string, sizes: Sizes, version: string): Ranked {
    const items = this.rankItems(match, sizes, version, true) as RankedItems;
    return {
      tracks: items.tracks.map(dtoOf),
      albums: items.albums.map(dtoOf),
      artists: items.artists.map(dtoOf),
      genres: items.genres,
    };
  }

  /**
   * The same answer as JSON bytes ({@link toRankedJson} of {@link rank}): each DTO's JSON is made
   * once and kept with it, so results that come back query after query (search-as-you-type) are
   * not serialized again.
   */
  rankJson(match: string, sizes: Sizes, version: string): RankedJson {
    return this.toJson(this.rankItems(match, sizes, version, true) as RankedItems);
  }

  /**
   * The answer from the in-memory mirrors alone (no FTS5, no row reads but a few genres), or null
   * when they cannot give it: not built yet, stale, a broad query, a word only FTS5 can fold.
   */
  rankFromMirrors(match: string, sizes: Sizes, version: string): RankedJson | null {
    const items = this.rankItems(match, sizes, version, false);
    return items ? this.toJson(items) : null;
  }

  private toJson(items: RankedItems): RankedJson {
    const parts: (string | Buffer)[] = ['{"tracks":['];
    const list = <Dto>(xs: Item<Dto>[], after: string) => {
      xs.forEach((x, i) => {
        if (i > 0) parts.push(',');
        parts.push(jsonOf(x));
      });
      parts.push(after);
    };
    list(items.tracks, '],"albums":[');
    list(items.albums, '],"artists":[');
    list(items.artists, `],"genres":${JSON.stringify(items.genres)}}`);
    return {
      json: joinBytes(parts),
      ids: {
        tracks: items.tracks.map((i) => i.id),
        albums: items.albums.map((i) => i.id),
        artists: items.artists.map((i) => i.id),
      },
    };
  }

  private rankItems(match: string, sizes: Sizes, version: string, sql: boolean): RankedItems | null {
    if (version !== this.version) {
      this.version = version;
      this.keeper?.changed();
    }
    this.counts.validate(version, Date.now());
    const terms = termsOf(match);
    const folded = this.tracks.ranksInMemory ? (this.folder as WordFolder).foldAll(terms) : null;
    if (!sql && !folded) return null;
    const tracks = this.tracks.rank(match, terms, folded, sizes[0], this.counts, sql);
    if (!tracks) return null;
    const albums = this.albums.rank(match, terms, folded, sizes[1], this.counts, sql);
    if (!albums) return null;
    const artists = this.artists.rank(match, terms, folded, sizes[2], this.counts, sql);
    if (!artists) return null;
    const genres = this.genres(match, folded, sizes[3], sql);
    if (!genres) return null;
    return { tracks, albums, artists, genres };
  }

  /** Genres are few (hundreds at most): always bm25, from the mirror when it can. */
  private genres(match: string, folded: string[] | null, limit: number, sql: boolean): GenreDto[] | null {
    if (limit === 0) return [];
    const mirror = this.genreMirror;
    // The few genre rows are read from the database either way (a tiny table).
    if (folded && mirror?.ready) {
      const scored = mirror.rank(folded, limit, Number.POSITIVE_INFINITY) as Scored[];
      if (scored.length === 0) return [];
      const rows = this.stmt.genresByRowids.all(JSON.stringify(scored.map((s) => s.rowid))) as (GenreDto & {
        search_rowid: number;
      })[];
      const byRowid = new Map(
        rows.map(({ search_rowid, ...dto }) => [search_rowid, { id: dto.id, dto, json: null, tie: 0 }]),
      );
      return inScoreOrder(scored, (rowid) => byRowid.get(rowid), limit, false).map(dtoOf);
    }
    if (!sql) return null;
    return this.stmt.genres.all(match, limit) as GenreDto[];
  }

  private onMirrorsReady: () => void = () => {};

  /**
   * Starts building the mirrors in the background (steps between queries; reader thread);
   * `onReady` is called whenever all of them have become current.
   */
  keepMirrors(onReady: () => void = () => {}): void {
    this.onMirrorsReady = onReady;
    this.keeper?.changed();
  }

  /** Builds the mirrors now, in one go (tests and benches); false without mirrors. */
  buildMirrors(): boolean {
    return this.allMirrors.length > 0 && this.allMirrors.every((m) => m.buildNow());
  }

  /** Whether every mirror is built and current. */
  get mirrorsReady(): boolean {
    return this.allMirrors.length > 0 && this.allMirrors.every((m) => m.ready);
  }

  private get allMirrors(): SteppedMirror<unknown>[] {
    if (!this.genreMirror) return [];
    return [...this.tracks.mirrors, ...this.albums.mirrors, ...this.artists.mirrors, this.genreMirror];
  }

  /** For good: also closes the word folder's connection. */
  close(): void {
    this.clear();
    this.folder?.close();
  }

  /** Forget cached counts (memory). */
  clear(): void {
    this.keeper?.stop();
    this.version = '';
    this.counts.clear();
  }
}
