/**
 * What both ranking plans of local search share (README.md here, "Ranking"): the sections and
 * their columns, bm25 weights and DTO builders, the broad-query threshold, and reading the words
 * back from an FTS query. The plans themselves:
 * - search-sql-plan.ts ranks over FTS5 and the catalog tables (always able to answer);
 * - search-mirror-plan.ts ranks over the in-memory mirrors (answers when they are current);
 * - search-json.ts assembles either plan's results into the response's JSON bytes.
 * Both give the same answer byte for byte (search-mirror.test.ts, search-differential.test.ts).
 */
import type { Selectable } from 'kysely';
import type { AlbumsTable, ArtistsTable } from '../db/schema.js';
import type { Item } from './search-json.js';
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

/** One answer: the DTOs with `liked: false` (liked flags are per user, added by the caller). */
export interface Ranked {
  tracks: TrackDto[];
  albums: AlbumDto[];
  artists: ArtistDto[];
  genres: GenreDto[];
}

/** Section sizes: tracks, albums, artists, genres. */
export type Sizes = readonly [number, number, number, number];

/**
 * A section query matching more rows than this is ranked the broad way: names starting with the
 * typed text, then other matches (README.md here, "Ranking").
 */
export const BROAD_MATCHES = 1500;

/** At most this many rows tied with the last one are kept past the limit (final order is the caller's). */
export const MAX_TIES = 100;

/**
 * The words of an FTS query made by `toFtsQuery` (`"el"* "ga"*` → `['el', 'ga']`). Its words are
 * letters, digits and marks only (no quote, star or space), so the query is cut at its separators:
 * a split, not a regular expression's iterator per miss (5 µs of a miss's main-thread time).
 */
export function termsOf(match: string): string[] {
  if (match.length < 3 || !match.startsWith('"') || !match.endsWith('"*')) return [];
  return match.slice(1, -2).split('"* "');
}

/** A genre's DTO columns (alias `g`), in GenreDto's key order. */
export const GENRE_COLUMNS = 'g.id, g.name, g.track_count as trackCount, g.album_count as albumCount';

/** A section of the answer: where its rows and index live and how a row becomes a DTO. */
export interface SectionSpec<Row extends { id: string }, Dto> {
  /** FTS table and its column weights (title matches weigh most; bm25: lower is better). */
  fts: string;
  weights: readonly number[];
  /** The catalog table and its name column (with a `collate nocase` index). */
  table: string;
  name: string;
  /** The name's column in the FTS table (its first). */
  ftsName: string;
  /** Selected columns (alias `t`). */
  columns: string;
  dto: (row: Row) => Dto;
  /** Ties in score go to the higher value (artists: track count), in SQL as `tieBreak`. */
  tie?: (row: Row) => number;
  tieBreak?: string;
}

export const TRACKS: SectionSpec<TrackDtoRow, TrackDto> = {
  fts: 'tracks_fts',
  weights: [10, 5, 3, 1],
  table: 'tracks',
  name: 'title',
  ftsName: 'title',
  columns: TRACK_DTO_COLUMNS.map((c) => `t.${c}`).join(', '),
  dto: (row) => toTrackDto(row, false),
};

export const ALBUMS: SectionSpec<Selectable<AlbumsTable>, AlbumDto> = {
  fts: 'albums_fts',
  weights: [10, 4, 1],
  table: 'albums',
  name: 'name',
  ftsName: 'name',
  columns: 't.*',
  dto: (row) => toAlbumDto(row, false),
};

export const ARTISTS: SectionSpec<Selectable<ArtistsTable>, ArtistDto> = {
  fts: 'artists_fts',
  weights: [],
  table: 'artists',
  name: 'name',
  ftsName: 'name',
  columns: 't.*',
  dto: (row) => toArtistDto(row, false),
  tie: (row) => row.track_count,
  tieBreak: 't.track_count desc',
};

/** Genres are few (hundreds at most): always bm25, equal weights. */
export const GENRES_FTS = 'genres_fts';

/**
 * The broad plan's page, as every plan fills it (SQL on either engine, and the mirrors): the rows
 * whose name starts with the typed text, then other matches, name matches first, each row once,
 * until `limit`. A plan adds each batch of matches it reads; {@link wanted} is how many to read
 * (the page's room plus the rows already on it, which a batch may repeat).
 */
export class BroadPage<Row extends { id: string }> {
  private readonly seen: Set<string>;

  constructor(
    readonly rows: Row[],
    private readonly limit: number,
  ) {
    this.seen = new Set(rows.map((r) => r.id));
  }

  get full(): boolean {
    return this.rows.length >= this.limit;
  }

  get wanted(): number {
    return this.limit + this.seen.size;
  }

  /** Adds the rows not on the page yet, in order, until it is full. */
  add(more: Iterable<Row>): void {
    for (const row of more) {
      if (this.full) return;
      if (this.seen.has(row.id)) continue;
      this.seen.add(row.id);
      this.rows.push(row);
    }
  }
}

/** Rows read by an SQL plan as answer items (DTOs made here, JSON by the assembler). */
export const itemsOf = <Row extends { id: string }, Dto>(spec: SectionSpec<Row, Dto>, rows: Row[]): Item<Dto>[] =>
  rows.map((row) => ({ id: row.id, dto: spec.dto(row), json: null, tie: 0 }));
