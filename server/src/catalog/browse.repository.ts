/**
 * Catalog reads for protocol faces that list the whole library in their own orders (the Subsonic
 * API: album lists of every type, random songs, full-library paging for offline sync, per-user
 * annotations in bulk). Every ORDER BY is fixed here; caller values are only bound parameters.
 */
import { type Selectable, sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { AlbumsTable, ArtistsTable, TracksTable } from '../db/schema.js';
import { foldKey } from '../shared/fold-key.js';
import { albumIdsInGenre } from './catalog.repository.js';
import { lyricsByTags } from './lyrics-lookup.js';
import { creditsOf, genresOf, songsWithExtras } from './song-extras.js';

/** Every track column except the (possibly long) lyrics. */
export const SONG_COLUMNS = [
  'id',
  'source_type',
  'remote_id',
  'local_path',
  'is_cached',
  'title',
  'artist',
  'album',
  'album_artist',
  'album_id',
  'artist_id',
  'track_number',
  'disc_number',
  'year',
  'genre',
  'compilation',
  'duration',
  'format',
  'codec',
  'bitrate',
  'sample_rate',
  'channels',
  'size',
  'rg_track_gain',
  'rg_track_peak',
  'rg_album_gain',
  'rg_album_peak',
  'mbz_recording_id',
  'comment',
  'artwork_id',
  'thumbnail_url',
  'added_at',
  'updated_at',
] as const satisfies readonly (keyof TracksTable)[];
export type SongRow = Pick<Selectable<TracksTable>, (typeof SONG_COLUMNS)[number]>;
export type AlbumRow = Selectable<AlbumsTable>;
export type ArtistRow = Selectable<ArtistsTable>;

export type AlbumListType =
  | 'random'
  | 'newest'
  | 'highest'
  | 'frequent'
  | 'recent'
  | 'alphabeticalByName'
  | 'alphabeticalByArtist'
  | 'starred'
  | 'byYear'
  | 'byGenre';

export interface Annotation {
  starredAt: number | null;
  rating: number | null;
  playCount: number;
  lastPlayed: number | null;
}

export interface SongFilter {
  genre?: string;
  fromYear?: number;
  toYear?: number;
}

const CHUNK = 500;

function chunks<T>(list: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += CHUNK) out.push(list.slice(i, i + CHUNK));
  return out;
}

export class BrowseRepository {
  constructor(private readonly db: Db) {}

  /** Songs by id, in the order asked (unknown ids are skipped). */
  async songs(ids: string[]): Promise<SongRow[]> {
    const byId = new Map<string, SongRow>();
    for (const part of chunks([...new Set(ids)])) {
      for (const row of await this.db.selectFrom('tracks').select(SONG_COLUMNS).where('id', 'in', part).execute())
        byId.set(row.id, row);
    }
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  async albumsByIds(ids: string[]): Promise<AlbumRow[]> {
    const byId = new Map<string, AlbumRow>();
    for (const part of chunks([...new Set(ids)])) {
      for (const row of await this.db.selectFrom('albums').selectAll().where('id', 'in', part).execute())
        byId.set(row.id, row);
    }
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  async artistsByIds(ids: string[]): Promise<ArtistRow[]> {
    const byId = new Map<string, ArtistRow>();
    for (const part of chunks([...new Set(ids)])) {
      for (const row of await this.db.selectFrom('artists').selectAll().where('id', 'in', part).execute())
        byId.set(row.id, row);
    }
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * Up to `limit` album rows, in no particular order: a cache of a library with fewer albums than
   * it keeps reads them all at once (catalog-cache.ts in subsonic/) instead of twenty at a time.
   */
  allAlbums(limit: number): Promise<AlbumRow[]> {
    return this.db.selectFrom('albums').selectAll().limit(limit).execute();
  }

  /** Up to `limit` artist rows, in no particular order (see {@link allAlbums}). */
  allArtists(limit: number): Promise<ArtistRow[]> {
    return this.db.selectFrom('artists').selectAll().limit(limit).execute();
  }

  /** Albums whose album artist this is, oldest first. */
  albumsOfArtist(artistId: string): Promise<AlbumRow[]> {
    return this.db
      .selectFrom('albums')
      .selectAll()
      .where('artist_id', '=', artistId)
      .orderBy(sql`year is null`)
      .orderBy('year')
      .orderBy(sql`name collate nocase`)
      .execute();
  }

  songsOfAlbum(albumId: string): Promise<SongRow[]> {
    return this.db
      .selectFrom('tracks')
      .select(SONG_COLUMNS)
      .where('album_id', '=', albumId)
      .orderBy(sql`coalesce(disc_number, 1)`)
      .orderBy(sql`coalesce(track_number, 0)`)
      .orderBy('title')
      .orderBy('id')
      .execute();
  }

  /** The whole library in a stable order, a page at a time (offline sync). */
  songsPage(offset: number, limit: number): Promise<SongRow[]> {
    return this.db.selectFrom('tracks').select(SONG_COLUMNS).orderBy('id').limit(limit).offset(offset).execute();
  }

  albumsPage(offset: number, limit: number): Promise<AlbumRow[]> {
    return this.db.selectFrom('albums').selectAll().orderBy('id').limit(limit).offset(offset).execute();
  }

  /** Every track id in the order of {@link songsPage}. */
  async trackIds(): Promise<string[]> {
    return (await this.db.selectFrom('tracks').select('id').orderBy('id').execute()).map((r) => r.id);
  }

  /** Every album id in the order of {@link albumsPage}. */
  async albumIds(): Promise<string[]> {
    return (await this.db.selectFrom('albums').select('id').orderBy('id').execute()).map((r) => r.id);
  }

  /** Ids of {@link artistsWithAlbums}, in its order. */
  async artistIdsWithAlbums(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('artists')
      .select('id')
      .where('album_count', '>', 0)
      .orderBy(sql`coalesce(sort_name, name) collate nocase`)
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * Artists that have albums (what a Subsonic artist index lists), by name — all of them (an index
   * is not paged; `limit -1` meant "no limit" to SQLite only, and PostgreSQL refused it).
   */
  artistsWithAlbums(): Promise<ArtistRow[]> {
    return this.db
      .selectFrom('artists')
      .selectAll()
      .where('album_count', '>', 0)
      .orderBy(sql`coalesce(sort_name, name) collate nocase`)
      .orderBy('id')
      .execute();
  }

  async albumList(
    type: AlbumListType,
    userId: string,
    o: { offset: number; size: number; fromYear?: number; toYear?: number; genre?: string },
  ): Promise<AlbumRow[]> {
    return this.albumListQuery(type, userId, o).selectAll('albums').limit(o.size).offset(o.offset).execute();
  }

  /**
   * Every album id of a list type in its order (for callers that keep the order while the catalog
   * version holds and page it themselves; `random` is in no particular order).
   */
  async albumIdsInOrder(
    type: AlbumListType,
    userId: string,
    o: { fromYear?: number; toYear?: number; genre?: string },
  ): Promise<string[]> {
    const rows = await this.albumListQuery(type === 'random' ? 'newest' : type, userId, o)
      .select('albums.id')
      .execute();
    return rows.map((r) => r.id);
  }

  /** Catalog version (migration 0008): moves with every change to tracks, albums, artists, genres. */
  async catalogVersion(): Promise<number> {
    const row = await this.db.selectFrom('catalog_version').select('version').where('id', '=', 1).executeTakeFirst();
    return Number(row?.version ?? 0);
  }

  private albumListQuery(
    type: AlbumListType,
    userId: string,
    o: { fromYear?: number; toYear?: number; genre?: string },
  ) {
    let q = this.db.selectFrom('albums');
    const activity = () =>
      q.innerJoin('user_activity as ua', (j) =>
        j.onRef('ua.item_id', '=', 'albums.id').on('ua.user_id', '=', userId).on('ua.item_type', '=', 'album'),
      );
    switch (type) {
      case 'random':
        q = q.orderBy(sql`random()`);
        break;
      case 'newest':
        q = q.orderBy('albums.added_at', 'desc');
        break;
      case 'alphabeticalByName':
        q = q.orderBy(sql`coalesce(albums.sort_name, albums.name) collate nocase`);
        break;
      case 'alphabeticalByArtist':
        q = q.orderBy(sql`albums.album_artist collate nocase`).orderBy(sql`albums.name collate nocase`);
        break;
      case 'starred':
        q = activity().where('ua.is_liked', '=', 1).orderBy('ua.liked_at', 'desc');
        break;
      case 'highest':
        q = activity().where('ua.rating', '>', 0).orderBy('ua.rating', 'desc');
        break;
      case 'frequent':
      case 'recent': {
        // Album plays are the plays of its tracks (plays are recorded per track).
        const stats = this.db
          .selectFrom('user_activity as ua')
          .innerJoin('tracks as t', 't.id', 'ua.item_id')
          .select(['t.album_id'])
          .select((eb) => [eb.fn.sum<number>('ua.play_count').as('plays'), eb.fn.max('ua.last_played').as('last')])
          .where('ua.user_id', '=', userId)
          .where('ua.item_type', '=', 'track')
          .where('ua.play_count', '>', 0)
          .groupBy('t.album_id')
          .as('s');
        q = q.innerJoin(stats, 's.album_id', 'albums.id');
        q = type === 'frequent' ? q.orderBy(sql`s.plays`, 'desc') : q.orderBy(sql`s.last`, 'desc');
        break;
      }
      case 'byYear': {
        const from = o.fromYear ?? 0;
        const to = o.toYear ?? 9999;
        q = q.where('albums.year', '>=', Math.min(from, to)).where('albums.year', '<=', Math.max(from, to));
        q = q.orderBy('albums.year', from > to ? 'desc' : 'asc').orderBy(sql`albums.name collate nocase`);
        break;
      }
      case 'byGenre': {
        const genre = o.genre ?? '';
        q = q.where('albums.id', 'in', albumIdsInGenre(this.db, genre)).orderBy(sql`albums.name collate nocase`);
        break;
      }
    }
    return q.orderBy('albums.id');
  }

  private songFilter(filter: SongFilter) {
    let q = this.db.selectFrom('tracks').select(SONG_COLUMNS);
    if (filter.genre) {
      const genre = filter.genre;
      q = q.where(
        'id',
        'in',
        this.db
          .selectFrom('track_genres as tg')
          .innerJoin('genres as g', 'g.id', 'tg.genre_id')
          .select('tg.track_id')
          .where('g.name_key', '=', foldKey(genre)), // as albumIdsInGenre matches it
      );
    }
    if (filter.fromYear !== undefined) q = q.where('year', '>=', filter.fromYear);
    if (filter.toYear !== undefined) q = q.where('year', '<=', filter.toYear);
    return q;
  }

  randomSongs(filter: SongFilter, size: number): Promise<SongRow[]> {
    return this.songFilter(filter).orderBy(sql`random()`).limit(size).execute();
  }

  songsByGenre(genre: string, offset: number, count: number): Promise<SongRow[]> {
    return this.songFilter({ genre })
      .orderBy(sql`album collate nocase`)
      .orderBy(sql`coalesce(disc_number, 1)`)
      .orderBy(sql`coalesce(track_number, 0)`)
      .orderBy('id')
      .limit(count)
      .offset(offset)
      .execute();
  }

  /** An artist's most played songs (all listeners), then the rest by album and track. */
  topSongs(artistId: string, count: number): Promise<SongRow[]> {
    return this.db
      .selectFrom('tracks')
      .select(SONG_COLUMNS.map((c) => `tracks.${c}` as const))
      .leftJoin(
        this.db
          .selectFrom('user_activity')
          .select('item_id')
          .select((eb) => eb.fn.sum<number>('play_count').as('plays'))
          .where('item_type', '=', 'track')
          .groupBy('item_id')
          .as('p'),
        'p.item_id',
        'tracks.id',
      )
      .where((eb) =>
        eb.or([
          eb('tracks.artist_id', '=', artistId),
          eb('tracks.id', 'in', eb.selectFrom('track_artists').select('track_id').where('artist_id', '=', artistId)),
        ]),
      )
      .orderBy(sql`coalesce(p.plays, 0)`, 'desc')
      .orderBy('tracks.year', 'desc')
      .orderBy('tracks.id')
      .limit(count)
      .execute();
  }

  /** Songs sharing an artist or a genre with the seeds, in random order, seeds excluded. */
  similarSongs(seed: { artistIds: string[]; genres: string[]; exclude: string[] }, count: number): Promise<SongRow[]> {
    const { artistIds, genres } = seed;
    if (artistIds.length === 0 && genres.length === 0) return Promise.resolve([]);
    let q = this.db
      .selectFrom('tracks')
      .select(SONG_COLUMNS)
      .where((eb) =>
        eb.or([
          ...(artistIds.length ? [eb('artist_id', 'in', artistIds)] : []),
          ...(genres.length ? [eb('genre', 'in', genres)] : []),
        ]),
      );
    if (seed.exclude.length) q = q.where('id', 'not in', seed.exclude);
    return q.orderBy(sql`random()`).limit(count).execute();
  }

  /** The caller's stars, ratings and plays for these items (only rows that exist). */
  async annotations(userId: string, type: 'track' | 'album' | 'artist', ids: string[]) {
    const out = new Map<string, Annotation>();
    for (const part of chunks([...new Set(ids)])) {
      const rows = await this.db
        .selectFrom('user_activity')
        .select(['item_id', 'is_liked', 'liked_at', 'rating', 'play_count', 'last_played'])
        .where('user_id', '=', userId)
        .where('item_type', '=', type)
        .where('item_id', 'in', part)
        .execute();
      for (const r of rows) {
        out.set(r.item_id, {
          starredAt: r.is_liked === 1 ? (r.liked_at ?? 0) : null,
          rating: r.rating,
          playCount: r.play_count,
          lastPlayed: r.last_played,
        });
      }
    }
    return out;
  }

  /** Whether the user has any stars, ratings or plays on items of this type. */
  async hasActivity(userId: string, type: 'track' | 'album' | 'artist'): Promise<boolean> {
    const row = await this.db
      .selectFrom('user_activity')
      .select('item_id')
      .where('user_id', '=', userId)
      .where('item_type', '=', type)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Track → its credited artists (role `artist` / `albumartist`), for multi-artist fields. */
  creditsOf(trackIds: string[]) {
    return creditsOf(this.db, trackIds);
  }

  /** Track → its genre names. */
  genresOf(trackIds: string[]) {
    return genresOf(this.db, trackIds);
  }

  /** Songs with their credits and genres in one statement (song-extras.ts); unknown ids skipped, any order. */
  songsWithExtras(ids: string[]) {
    return songsWithExtras(this.db, ids);
  }

  allGenres() {
    return this.db
      .selectFrom('genres')
      .select(['name', 'track_count', 'album_count'])
      .orderBy(sql`name collate nocase`)
      .execute();
  }

  async starredIds(userId: string, type: 'track' | 'album' | 'artist'): Promise<string[]> {
    const rows = await this.db
      .selectFrom('user_activity')
      .select('item_id')
      .where('user_id', '=', userId)
      .where('item_type', '=', type)
      .where('is_liked', '=', 1)
      .orderBy('liked_at', 'desc')
      .execute();
    return rows.map((r) => r.item_id);
  }

  async trackCount(): Promise<number> {
    const row = await this.db
      .selectFrom('tracks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Last change to the catalog (ms), for `getIndexes` `lastModified`. */
  async lastModified(): Promise<number> {
    const row = await this.db
      .selectFrom('tracks')
      .select((eb) => eb.fn.max('updated_at').as('t'))
      .executeTakeFirst();
    return Number(row?.t ?? 0);
  }

  /** Lyrics of one track (kept out of {@link SONG_COLUMNS}: they can be long). */
  async lyricsOf(trackId: string): Promise<string | null> {
    const row = await this.db.selectFrom('tracks').select('lyrics').where('id', '=', trackId).executeTakeFirst();
    return row?.lyrics ?? null;
  }

  /** A track with lyrics whose title (and artist, when given) match, ignoring case (lyrics-lookup.ts). */
  lyricsByTags(artist: string | undefined, title: string) {
    return lyricsByTags(this.db, artist, title);
  }

  artist(id: string) {
    return this.db.selectFrom('artists').selectAll().where('id', '=', id).executeTakeFirst();
  }

  album(id: string) {
    return this.db.selectFrom('albums').selectAll().where('id', '=', id).executeTakeFirst();
  }
}
