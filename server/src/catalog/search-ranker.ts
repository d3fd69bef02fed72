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
  /** FTS table and its bm25 weights (`''` for equal weights). */
  fts: string;
  weights: string;
  /** The catalog table, its alias and the name column with a `collate nocase` index. */
  table: string;
  name: string;
  /** Selected columns (alias `t`). */
  columns: string;
  /** Extra ORDER BY terms after the bm25 score. */
  tieBreak?: string;
}

/** One section (tracks, albums or artists): bm25 for narrow queries, name order for broad ones. */
class Section<Row> {
  private readonly bm25;
  private readonly probe;
  private readonly byName;
  private readonly fill;
  private readonly nameColumn: string;

  constructor(
    sqlite: SQLite.Database,
    private readonly spec: SectionSpec,
  ) {
    const { fts, weights, table, name, columns } = spec;
    this.nameColumn = fts === 'tracks_fts' ? 'title' : 'name';
    // Rank inside the FTS table first (LIMIT applied there), then join the few winners.
    this.bm25 = sqlite.prepare(
      `select ${columns} from
         (select rowid, bm25(${fts}${weights}) as score from ${fts} where ${fts} match ? order by score limit ?) f
       join search_keys k on k.rowid = f.rowid join ${table} t on t.id = k.item_id
       order by f.score${spec.tieBreak ? `, ${spec.tieBreak}` : ''}`,
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
    return this.bm25.all(match, limit) as Row[];
  }

  /** Names starting with the typed words (alphabetical), then other matches, name matches first. */
  broad(match: string, terms: string[], limit: number, idOf: (row: Row) => string): Row[] {
    const lo = terms.join(' ');
    const rows = this.byName.all({ lo, hi: lo + TOP, n: limit }) as Row[];
    if (rows.length >= limit) return rows;
    const seen = new Set(rows.map(idOf));
    for (const m of [`{${this.nameColumn}} : (${match})`, match]) {
      for (const row of this.fill.all({ match: m, n: limit + seen.size }) as Row[]) {
        const id = idOf(row);
        if (seen.has(id)) continue;
        seen.add(id);
        rows.push(row);
        if (rows.length >= limit) return rows;
      }
    }
    return rows;
  }

  rank(match: string, terms: string[], limit: number, counts: TermCounts, idOf: (row: Row) => string): Row[] {
    if (limit === 0) return [];
    return this.isBroad(match, terms, counts) ? this.broad(match, terms, limit, idOf) : this.ranked(match, limit);
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
  private readonly tracks: Section<TrackDtoRow>;
  private readonly albums: Section<Selectable<AlbumsTable>>;
  private readonly artists: Section<Selectable<ArtistsTable>>;
  private readonly stmt;
  private readonly counts = new TermCounts();
  /** Per-genre track/album counts (a few ms each for a big genre), kept while `version` holds. */
  private readonly genreCounts = new Map<string, { trackCount: number; albumCount: number }>();
  private countsVersion = '';

  constructor(sqlite: SQLite.Database) {
    // Title matches weigh most, then artist, album, genre (bm25: lower is better).
    this.tracks = new Section(sqlite, {
      fts: 'tracks_fts',
      weights: ', 10.0, 5.0, 3.0, 1.0',
      table: 'tracks',
      name: 'title',
      columns: TRACK_DTO_COLUMNS.map((c) => `t.${c}`).join(', '),
    });
    this.albums = new Section(sqlite, {
      fts: 'albums_fts',
      weights: ', 10.0, 4.0, 1.0',
      table: 'albums',
      name: 'name',
      columns: 't.*',
    });
    this.artists = new Section(sqlite, {
      fts: 'artists_fts',
      weights: '',
      table: 'artists',
      name: 'name',
      columns: 't.*',
      tieBreak: 't.track_count desc',
    });
    const s = (q: string) => sqlite.prepare(q);
    this.stmt = {
      // Genres are few (hundreds at most): always bm25.
      genres: s(
        `select g.id, g.name from
           (select rowid, bm25(genres_fts) as score from genres_fts where genres_fts match ? order by score limit ?) f
         join search_keys k on k.rowid = f.rowid join genres g on g.id = k.item_id order by f.score`,
      ),
      genreCounts: s(`select (select count(*) from track_genres tg where tg.genre_id = @id) as trackCount,
                       (select count(distinct t.album_id) from track_genres tg join tracks t on t.id = tg.track_id
                        where tg.genre_id = @id) as albumCount`),
    };
  }

  /** `version` identifies the database state the caller validated (genre counts are kept while it holds). */
  rank(match: string, sizes: Sizes, version: string): Ranked {
    if (version !== this.countsVersion) {
      this.countsVersion = version;
      this.genreCounts.clear();
    }
    this.counts.validate(version, Date.now());
    const terms = termsOf(match);
    const byId = (row: { id: string }) => row.id;
    return {
      tracks: this.tracks.rank(match, terms, sizes[0], this.counts, byId).map((t) => toTrackDto(t, false)),
      albums: this.albums.rank(match, terms, sizes[1], this.counts, byId).map((a) => toAlbumDto(a, false)),
      artists: this.artists.rank(match, terms, sizes[2], this.counts, byId).map((a) => toArtistDto(a, false)),
      genres:
        sizes[3] === 0
          ? []
          : (this.stmt.genres.all(match, sizes[3]) as { id: string; name: string }[]).map((g) => ({
              ...g,
              ...this.countsOf(g.id),
            })),
    };
  }

  /** Forget cached counts (memory). */
  clear(): void {
    this.genreCounts.clear();
    this.countsVersion = '';
    this.counts.clear();
  }

  private countsOf(genreId: string): { trackCount: number; albumCount: number } {
    let counts = this.genreCounts.get(genreId);
    if (!counts) {
      counts = this.stmt.genreCounts.get({ id: genreId }) as { trackCount: number; albumCount: number };
      this.genreCounts.set(genreId, counts);
    }
    return counts;
  }
}
