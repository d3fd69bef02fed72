/**
 * Catalog reads (artists, albums, tracks, genres). Sort keys arrive already checked against the
 * allow-lists in catalog.schemas.ts; each maps to a fixed ORDER BY here, never to caller text.
 */
import { type SelectQueryBuilder, sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { foldKey } from '../shared/fold-key.js';

export type ArtistSort = 'name' | 'albumCount' | 'recent';
export type AlbumSort = 'name' | 'artist' | 'year' | 'recent' | 'random';
export type TrackSort = 'title' | 'artist' | 'album' | 'recent';

/**
 * Ids of the albums with at least one track in `genre`, as a subquery. The genre is matched by the
 * key the scanner merged genres by (case and accents ignored, {@link foldKey}), so "électro",
 * "ELECTRO" and "Électro" are the same genre on both engines (a `collate nocase` comparison folds
 * ASCII only on SQLite and keeps accents on PostgreSQL).
 */
export function albumIdsInGenre(db: Db, genre: string) {
  return db
    .selectFrom('track_genres as tg')
    .innerJoin('genres as g', 'g.id', 'tg.genre_id')
    .innerJoin('tracks as t', 't.id', 'tg.track_id')
    .select('t.album_id')
    .where('g.name_key', '=', foldKey(genre))
    .$narrowType<{ album_id: string }>();
}

export interface Page {
  limit: number;
  offset: number;
}

async function paged<O>(query: SelectQueryBuilder<Database, keyof Database, O>, page: Page) {
  return query.limit(page.limit).offset(page.offset).execute();
}

export class CatalogRepository {
  constructor(private readonly db: Db) {}

  async artists(sort: ArtistSort, page: Page) {
    let q = this.db.selectFrom('artists').selectAll();
    if (sort === 'albumCount') q = q.orderBy('album_count', 'desc').orderBy(sql`name collate nocase`);
    else if (sort === 'recent') q = q.orderBy('added_at', 'desc').orderBy('id');
    else q = q.orderBy(sql`name collate nocase`).orderBy('id');
    const [items, total] = await Promise.all([paged(q, page), this.count('artists')]);
    return { items, total };
  }

  artist(id: string) {
    return this.db.selectFrom('artists').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Albums an artist is album artist of or appears on, newest first. */
  albumsOfArtist(artistId: string) {
    return this.db
      .selectFrom('albums')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('artist_id', '=', artistId),
          eb(
            'id',
            'in',
            eb
              .selectFrom('track_artists as ta')
              .innerJoin('tracks as t', 't.id', 'ta.track_id')
              .select('t.album_id')
              .where('ta.artist_id', '=', artistId)
              .where('t.album_id', 'is not', null)
              .$narrowType<{ album_id: string }>(),
          ),
        ]),
      )
      .orderBy(sql`year is null`)
      .orderBy('year', 'desc')
      .orderBy(sql`name collate nocase`)
      .execute();
  }

  async albums(filter: { sort: AlbumSort; genre?: string; artistId?: string }, page: Page) {
    let q = this.db.selectFrom('albums').selectAll();
    if (filter.artistId) {
      const artistId = filter.artistId;
      q = q.where((eb) =>
        eb.or([
          eb('artist_id', '=', artistId),
          eb(
            'id',
            'in',
            eb
              .selectFrom('track_artists as ta')
              .innerJoin('tracks as t', 't.id', 'ta.track_id')
              .select('t.album_id')
              .where('ta.artist_id', '=', artistId)
              .$narrowType<{ album_id: string }>(),
          ),
        ]),
      );
    }
    if (filter.genre) {
      const genre = filter.genre;
      q = q.where('id', 'in', albumIdsInGenre(this.db, genre));
    }
    const total = q.clearSelect().select((eb) => eb.fn.countAll<number>().as('n'));
    switch (filter.sort) {
      case 'artist':
        q = q.orderBy(sql`album_artist collate nocase`).orderBy(sql`name collate nocase`);
        break;
      case 'year':
        q = q.orderBy(sql`year is null`).orderBy('year').orderBy(sql`name collate nocase`);
        break;
      case 'recent':
        q = q.orderBy('added_at', 'desc');
        break;
      case 'random':
        q = q.orderBy(sql`random()`);
        break;
      default:
        q = q.orderBy(sql`name collate nocase`);
    }
    q = q.orderBy('id');
    const [items, n] = await Promise.all([paged(q, page), total.executeTakeFirstOrThrow()]);
    return { items, total: Number(n.n) };
  }

  album(id: string) {
    return this.db.selectFrom('albums').selectAll().where('id', '=', id).executeTakeFirst();
  }

  tracksOfAlbum(albumId: string) {
    return this.db
      .selectFrom('tracks')
      .selectAll()
      .where('album_id', '=', albumId)
      .orderBy(sql`coalesce(disc_number, 1)`)
      .orderBy(sql`coalesce(track_number, 0)`)
      .orderBy('local_path')
      .execute();
  }

  async tracks(filter: { sort: TrackSort; albumId?: string; artistId?: string; genreId?: string }, page: Page) {
    let q = this.db.selectFrom('tracks').selectAll();
    if (filter.albumId) q = q.where('album_id', '=', filter.albumId);
    if (filter.artistId) {
      const artistId = filter.artistId;
      q = q.where('id', 'in', (eb) =>
        eb.selectFrom('track_artists').select('track_id').where('artist_id', '=', artistId),
      );
    }
    if (filter.genreId) {
      const genreId = filter.genreId;
      q = q.where('id', 'in', (eb) => eb.selectFrom('track_genres').select('track_id').where('genre_id', '=', genreId));
    }
    const total = q.clearSelect().select((eb) => eb.fn.countAll<number>().as('n'));
    switch (filter.sort) {
      case 'artist':
        q = q
          .orderBy(sql`artist collate nocase`)
          .orderBy(sql`album collate nocase`)
          .orderBy(sql`coalesce(disc_number, 1)`)
          .orderBy(sql`coalesce(track_number, 0)`);
        break;
      case 'album':
        q = q
          .orderBy(sql`album collate nocase`)
          .orderBy('album_id')
          .orderBy(sql`coalesce(disc_number, 1)`)
          .orderBy(sql`coalesce(track_number, 0)`);
        break;
      case 'recent':
        q = q.orderBy('added_at', 'desc');
        break;
      default:
        q = q.orderBy(sql`title collate nocase`);
    }
    q = q.orderBy('id');
    const [items, n] = await Promise.all([paged(q, page), total.executeTakeFirstOrThrow()]);
    return { items, total: Number(n.n) };
  }

  track(id: string) {
    return this.db.selectFrom('tracks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  trackArtists(trackId: string) {
    return this.db
      .selectFrom('track_artists as ta')
      .innerJoin('artists as a', 'a.id', 'ta.artist_id')
      .select(['a.id', 'a.name', 'ta.role'])
      .where('ta.track_id', '=', trackId)
      .orderBy('ta.role', 'desc')
      .orderBy('ta.position')
      .execute();
  }

  trackGenres(trackId: string) {
    return this.db
      .selectFrom('track_genres as tg')
      .innerJoin('genres as g', 'g.id', 'tg.genre_id')
      .select(['g.id', 'g.name'])
      .where('tg.track_id', '=', trackId)
      .orderBy(sql`g.name collate nocase`)
      .execute();
  }

  async genres(page: Page, ids?: string[]) {
    let q = this.db
      .selectFrom('genres as g')
      .select(['g.id', 'g.name', 'g.track_count as trackCount', 'g.album_count as albumCount'])
      .orderBy(sql`g.name collate nocase`);
    if (ids) q = q.where('g.id', 'in', ids.length > 0 ? ids : ['']);
    const [items, total] = await Promise.all([q.limit(page.limit).offset(page.offset).execute(), this.count('genres')]);
    return {
      items: items.map((g) => ({
        id: g.id,
        name: g.name,
        trackCount: Number(g.trackCount ?? 0),
        albumCount: Number(g.albumCount ?? 0),
      })),
      total,
    };
  }

  private async count(table: 'artists' | 'genres'): Promise<number> {
    const r = await this.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
