/**
 * The scanner's grouping caches (name keys → artist, genre and album ids; the artwork ids already
 * stored) and the artist, genre and album rows a track's tags create, shared by both engines'
 * repositories (library.repository.ts, library.repository.pg.ts) so that they make the same rows
 * by the same rules (`engines.test.ts` compares them). Each repository only stores the rows:
 * SQLite runs a prepared statement per new row, PostgreSQL gathers them for one statement per
 * table per batch.
 */
import { scanId } from './library.repository.js';
import { albumGroupKey, foldKey, type TrackTags } from './tags.js';

export interface ArtistRow {
  id: string;
  name: string;
  name_key: string;
  mbz_artist_id: string | null;
  added_at: number;
  updated_at: number;
}

export interface GenreRow {
  id: string;
  name: string;
  name_key: string;
}

export interface AlbumRow {
  id: string;
  name: string | null;
  group_key: string;
  album_artist: string;
  artist_id: string;
  year: number | null;
  genre: string | null;
  compilation: 0 | 1;
  mbz_album_id: string | null;
  added_at: number;
  updated_at: number;
}

/** Where the rows a batch's tags create go (a repository stores them). */
export interface NewGroupRows {
  artist(row: ArtistRow): void;
  genre(row: GenreRow): void;
  album(row: AlbumRow): void;
}

/** A track's links, resolved to ids. */
export interface TrackGroups {
  /** The tagged artists, in order (the first is the track's artist). */
  artistIds: string[];
  albumArtistId: string;
  albumId: string;
  genreIds: string[];
}

export class GroupingCache {
  private readonly artistIds = new Map<string, string>();
  private readonly genreIds = new Map<string, string>();
  private readonly albumIds = new Map<string, string>();
  private readonly artworkIds = new Set<string>();
  /** foldKey per name seen this scan: the same artists, albums and genres come back on every track. */
  private readonly folded = new Map<string, string>();
  private readonly fold = (name: string): string => {
    let key = this.folded.get(name);
    if (key === undefined) {
      key = foldKey(name);
      if (this.folded.size < 200_000) this.folded.set(name, key);
    }
    return key;
  };

  /** Fills the caches from the catalog (once per scan, by the read phase). */
  load(
    artists: Iterable<{ id: string; name_key: string }>,
    genres: Iterable<{ id: string; name_key: string }>,
    albums: Iterable<{ id: string; group_key: string }>,
    artwork: Iterable<{ id: string }>,
  ): void {
    this.clearIds();
    for (const r of artists) this.artistIds.set(r.name_key, r.id);
    for (const r of genres) this.genreIds.set(r.name_key, r.id);
    for (const r of albums) this.albumIds.set(r.group_key, r.id);
    for (const r of artwork) this.artworkIds.add(r.id);
  }

  hasArtwork(id: string): boolean {
    return this.artworkIds.has(id);
  }

  addArtwork(id: string): void {
    this.artworkIds.add(id);
  }

  /** Artwork rows were deleted: the cache may list some of them (the next scan reloads it). */
  forgetArtwork(): void {
    this.artworkIds.clear();
  }

  /**
   * The ids a track's tags name, in this order: its artists, its album artist, its album, its
   * genres; the ones not seen yet get a new row in `out`.
   */
  track(t: TrackTags, rel: string, now: number, out: NewGroupRows): TrackGroups {
    const artistIds = t.artists.map((name, i) => this.artistId(name, i === 0 ? t.mbzArtistId : null, now, out));
    const albumArtistId = this.artistId(t.albumArtist, t.mbzAlbumArtistId, now, out);
    const albumId = this.albumId(t, rel, albumArtistId, now, out);
    const genreIds = t.genres.map((g) => this.genreId(g, out));
    return { artistIds, albumArtistId, albumId, genreIds };
  }

  /** Drops every cache between scans (idle memory). */
  clear(): void {
    this.folded.clear();
    this.clearIds();
  }

  private clearIds(): void {
    this.artistIds.clear();
    this.genreIds.clear();
    this.albumIds.clear();
    this.artworkIds.clear();
  }

  private artistId(name: string, mbz: string | null, now: number, out: NewGroupRows): string {
    const key = this.fold(name);
    let id = this.artistIds.get(key);
    if (!id) {
      id = scanId();
      out.artist({ id, name, name_key: key, mbz_artist_id: mbz, added_at: now, updated_at: now });
      this.artistIds.set(key, id);
    }
    return id;
  }

  private genreId(name: string, out: NewGroupRows): string {
    const key = this.fold(name);
    let id = this.genreIds.get(key);
    if (!id) {
      id = scanId();
      out.genre({ id, name, name_key: key });
      this.genreIds.set(key, id);
    }
    return id;
  }

  private albumId(t: TrackTags, rel: string, artistId: string, now: number, out: NewGroupRows): string {
    const key = albumGroupKey(t, rel, this.fold);
    let id = this.albumIds.get(key);
    if (!id) {
      id = scanId();
      out.album({
        id,
        name: t.album,
        group_key: key,
        album_artist: t.albumArtist,
        artist_id: artistId,
        year: t.year,
        genre: t.genres[0] ?? null,
        compilation: t.compilation ? 1 : 0,
        mbz_album_id: t.mbzAlbumId,
        added_at: now,
        updated_at: now,
      });
      this.albumIds.set(key, id);
    }
    return id;
  }
}
