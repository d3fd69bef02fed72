/**
 * The FTS5 part of local search: for one FTS query, the best tracks, albums, artists and genres as
 * DTOs (with `liked: false`; liked flags are per user and added by the caller). Used on the main
 * connection and, off the event loop, by the search reader thread (search-worker.ts) on its own
 * read-only connection.
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

/** Section sizes: tracks, albums, artists, genres. */
export type Sizes = readonly [number, number, number, number];

export class SearchRanker {
  private readonly stmt;
  /** Per-genre track/album counts (a few ms each for a big genre), kept while `version` holds. */
  private readonly genreCounts = new Map<string, { trackCount: number; albumCount: number }>();
  private countsVersion = '';

  constructor(sqlite: SQLite.Database) {
    const s = (q: string) => sqlite.prepare(q);
    // Title matches weigh most, then artist, album, genre (bm25: lower is better).
    // Rank inside the FTS table first (LIMIT applied there), then join the few winners.
    const ranked = (fts: string, weights: string) =>
      `(select rowid, bm25(${fts}${weights}) as score from ${fts} where ${fts} match ? order by score limit ?) f
       join search_keys k on k.rowid = f.rowid`;
    this.stmt = {
      tracks: s(
        `select ${TRACK_DTO_COLUMNS.map((c) => `t.${c}`).join(', ')}
         from ${ranked('tracks_fts', ', 10.0, 5.0, 3.0, 1.0')} join tracks t on t.id = k.item_id order by f.score`,
      ),
      albums: s(
        `select a.* from ${ranked('albums_fts', ', 10.0, 4.0, 1.0')} join albums a on a.id = k.item_id order by f.score`,
      ),
      artists: s(
        `select a.* from ${ranked('artists_fts', '')} join artists a on a.id = k.item_id order by f.score, a.track_count desc`,
      ),
      genres: s(
        `select g.id, g.name from ${ranked('genres_fts', '')} join genres g on g.id = k.item_id order by f.score`,
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
    const run = <T>(stmt: SQLite.Statement, limit: number): T[] => (limit === 0 ? [] : (stmt.all(match, limit) as T[]));
    return {
      tracks: run<TrackDtoRow>(this.stmt.tracks, sizes[0]).map((t) => toTrackDto(t, false)),
      albums: run<Selectable<AlbumsTable>>(this.stmt.albums, sizes[1]).map((a) => toAlbumDto(a, false)),
      artists: run<Selectable<ArtistsTable>>(this.stmt.artists, sizes[2]).map((a) => toArtistDto(a, false)),
      genres: run<{ id: string; name: string }>(this.stmt.genres, sizes[3]).map((g) => ({
        ...g,
        ...this.countsOf(g.id),
      })),
    };
  }

  /** Forget cached counts (memory). */
  clear(): void {
    this.genreCounts.clear();
    this.countsVersion = '';
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
