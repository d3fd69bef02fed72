/**
 * Local search over the FTS5 index (SQLite `unicode61 remove_diacritics 2`, prefix indexes,
 * bm25 ranking) in typed sections. Used by `/api/v1/search/local` and by the federated search.
 *
 * User text never reaches FTS syntax (SECURITY.md 3): it is cut into letter/digit words, and each
 * word becomes a quoted prefix term (`"beyon"*`), so `"`, `*`, `NEAR`, `-`, `OR` and SQL fragments
 * are searched as plain words. Queries are prepared statements with bound parameters.
 */
import type SQLite from 'better-sqlite3';
import type { Selectable } from 'kysely';
import type { AlbumsTable, ArtistsTable, TracksTable } from '../db/schema.js';
import { likedIds } from '../listening/liked-flags.js';
import type { Db } from '../db/database.js';
import { type AlbumDto, type ArtistDto, type TrackDto, toAlbumDto, toArtistDto, toTrackDto } from './dto.js';

export interface GenreDto {
  id: string;
  name: string;
  trackCount: number;
  albumCount: number;
}

export interface SearchSections {
  tracks: TrackDto[];
  albums: AlbumDto[];
  artists: ArtistDto[];
  genres: GenreDto[];
}

export interface SearchLimits {
  tracks?: number;
  albums?: number;
  artists?: number;
  genres?: number;
}

const MAX_TERMS = 8;
const CACHE_ENTRIES = 500;

interface RankedRows {
  tracks: Selectable<TracksTable>[];
  albums: Selectable<AlbumsTable>[];
  artists: Selectable<ArtistsTable>[];
  genres: GenreDto[];
}

/** `"Beyoncé – Halo*"` → `"Beyoncé"* "Halo"*` (every word a quoted prefix); null when no words. */
export function toFtsQuery(q: string): string | null {
  const words = q.normalize('NFKC').match(/[\p{L}\p{N}]+/gu);
  if (!words) return null;
  return words
    .slice(0, MAX_TERMS)
    .map((w) => `"${w.slice(0, 64)}"*`)
    .join(' ');
}

export class CatalogSearch {
  private readonly stmt;
  private readonly cache = new Map<string, { token: string; rows: RankedRows }>();

  constructor(private readonly deps: { db: Db; sqlite: SQLite.Database }) {
    const s = (q: string) => deps.sqlite.prepare(q);
    // Title matches weigh most, then artist, album, genre (bm25: lower is better).
    // Rank inside the FTS table first (LIMIT applied there), then join the few winners.
    const ranked = (fts: string, weights: string) =>
      `(select rowid, bm25(${fts}${weights}) as score from ${fts} where ${fts} match ? order by score limit ?) f
       join search_keys k on k.rowid = f.rowid`;
    this.stmt = {
      version: s('select total_changes() as c, (select data_version from pragma_data_version) as v'),
      tracks: s(
        `select t.* from ${ranked('tracks_fts', ', 10.0, 5.0, 3.0, 1.0')} join tracks t on t.id = k.item_id order by f.score`,
      ),
      albums: s(
        `select a.* from ${ranked('albums_fts', ', 10.0, 4.0, 1.0')} join albums a on a.id = k.item_id order by f.score`,
      ),
      artists: s(
        `select a.* from ${ranked('artists_fts', '')} join artists a on a.id = k.item_id order by f.score, a.track_count desc`,
      ),
      genres: s(`select g.id, g.name,
                   (select count(*) from track_genres tg where tg.genre_id = g.id) trackCount,
                   (select count(distinct t.album_id) from track_genres tg join tracks t on t.id = tg.track_id where tg.genre_id = g.id) albumCount
                 from ${ranked('genres_fts', '')} join genres g on g.id = k.item_id order by f.score`),
    };
  }

  /**
   * The ranked rows for one query, cached until the database changes: search-as-you-type sends
   * the same prefixes again and again ("b", "be", "bey"), and ranking thousands of prefix matches
   * is the expensive part. The validity token is this connection's change counter (every
   * in-process writer shares it) plus `data_version` (writes by other processes, e.g. the CLI).
   * Liked flags are per user and never cached.
   */
  private ranked(match: string, sizes: readonly [number, number, number, number]): RankedRows {
    const version = this.stmt.version.get() as { c: number; v: number };
    const token = `${version.c}:${version.v}`;
    const key = `${sizes.join(',')}\u0000${match}`;
    const hit = this.cache.get(key);
    if (hit && hit.token === token) {
      this.cache.delete(key); // LRU: move to the end
      this.cache.set(key, hit);
      return hit.rows;
    }
    const run = <T>(stmt: SQLite.Statement, limit: number): T[] => (limit === 0 ? [] : (stmt.all(match, limit) as T[]));
    const rows: RankedRows = {
      tracks: run<Selectable<TracksTable>>(this.stmt.tracks, sizes[0]),
      albums: run<Selectable<AlbumsTable>>(this.stmt.albums, sizes[1]),
      artists: run<Selectable<ArtistsTable>>(this.stmt.artists, sizes[2]),
      genres: run<GenreDto>(this.stmt.genres, sizes[3]),
    };
    this.cache.delete(key);
    this.cache.set(key, { token, rows });
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    return rows;
  }

  async search(q: string, userId: string | null, limits: SearchLimits = {}): Promise<SearchSections> {
    const match = toFtsQuery(q);
    if (!match) return { tracks: [], albums: [], artists: [], genres: [] };
    const n = (v: number | undefined, d: number) => Math.max(0, Math.min(v ?? d, 200));
    const sizes = [n(limits.tracks, 20), n(limits.albums, 10), n(limits.artists, 10), n(limits.genres, 5)] as const;
    const { tracks, albums, artists, genres } = this.ranked(match, sizes);
    const [likedTracks, likedAlbums, likedArtists] = await Promise.all([
      likedIds(
        this.deps.db,
        userId,
        'track',
        tracks.map((t) => t.id),
      ),
      likedIds(
        this.deps.db,
        userId,
        'album',
        albums.map((a) => a.id),
      ),
      likedIds(
        this.deps.db,
        userId,
        'artist',
        artists.map((a) => a.id),
      ),
    ]);
    return {
      tracks: tracks.map((t) => toTrackDto(t, likedTracks.has(t.id))),
      albums: albums.map((a) => toAlbumDto(a, likedAlbums.has(a.id))),
      artists: artists.map((a) => toArtistDto(a, likedArtists.has(a.id))),
      genres,
    };
  }
}
