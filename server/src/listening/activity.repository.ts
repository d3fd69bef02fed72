/** SQL for likes, plays and the lists built from them. Every query is scoped by `user_id`. */
import { type Selectable, sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { AlbumsTable, ArtistsTable, TracksTable } from '../db/schema.js';
import type { LikeableType } from '../catalog/liked.js';

type TrackRow = Selectable<TracksTable>;

export class ActivityRepository {
  constructor(private readonly db: Db) {}

  async itemExists(type: LikeableType, id: string): Promise<boolean> {
    const table = type === 'track' ? 'tracks' : type === 'album' ? 'albums' : 'artists';
    return (await this.db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  async setLiked(userId: string, type: LikeableType, itemId: string, liked: boolean, now: number): Promise<void> {
    await this.db
      .insertInto('user_activity')
      .values({
        user_id: userId,
        item_type: type,
        item_id: itemId,
        is_liked: liked ? 1 : 0,
        liked_at: liked ? now : null,
        rating: null,
        last_played: null,
      })
      .onConflict((oc) =>
        oc.columns(['user_id', 'item_type', 'item_id']).doUpdateSet({
          is_liked: liked ? 1 : 0,
          // Keep the original time when liking again something already liked.
          liked_at: liked
            ? sql<number>`coalesce(case when user_activity.is_liked = 1 then user_activity.liked_at end, ${now})`
            : null,
        }),
      )
      .execute();
  }

  /** 1–5 stars; null removes the rating. */
  async setRating(userId: string, type: LikeableType, itemId: string, rating: number | null): Promise<void> {
    await this.db
      .insertInto('user_activity')
      .values({ user_id: userId, item_type: type, item_id: itemId, rating, liked_at: null, last_played: null })
      .onConflict((oc) => oc.columns(['user_id', 'item_type', 'item_id']).doUpdateSet({ rating }))
      .execute();
  }

  async likedTracks(userId: string, limit: number, offset: number) {
    const base = this.db
      .selectFrom('user_activity as ua')
      .innerJoin('tracks', 'tracks.id', 'ua.item_id')
      .where('ua.user_id', '=', userId)
      .where('ua.item_type', '=', 'track')
      .where('ua.is_liked', '=', 1);
    const rows = await base
      .selectAll('tracks')
      .orderBy('ua.liked_at', 'desc')
      .orderBy('tracks.id')
      .limit(limit)
      .offset(offset)
      .execute();
    const { n } = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { rows: rows as TrackRow[], total: Number(n) };
  }

  async likedAlbums(userId: string, limit: number, offset: number) {
    const base = this.db
      .selectFrom('user_activity as ua')
      .innerJoin('albums', 'albums.id', 'ua.item_id')
      .where('ua.user_id', '=', userId)
      .where('ua.item_type', '=', 'album')
      .where('ua.is_liked', '=', 1);
    const rows = await base
      .selectAll('albums')
      .orderBy('ua.liked_at', 'desc')
      .orderBy('albums.id')
      .limit(limit)
      .offset(offset)
      .execute();
    const { n } = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { rows: rows as Selectable<AlbumsTable>[], total: Number(n) };
  }

  async likedArtists(userId: string, limit: number, offset: number) {
    const base = this.db
      .selectFrom('user_activity as ua')
      .innerJoin('artists', 'artists.id', 'ua.item_id')
      .where('ua.user_id', '=', userId)
      .where('ua.item_type', '=', 'artist')
      .where('ua.is_liked', '=', 1);
    const rows = await base
      .selectAll('artists')
      .orderBy('ua.liked_at', 'desc')
      .orderBy('artists.id')
      .limit(limit)
      .offset(offset)
      .execute();
    const { n } = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { rows: rows as Selectable<ArtistsTable>[], total: Number(n) };
  }

  /** Drops per-user activity of tracks that left the catalog (their rows have no foreign key). */
  async forgetTracks(trackIds: string[]): Promise<void> {
    for (let i = 0; i < trackIds.length; i += 500) {
      await this.db
        .deleteFrom('user_activity')
        .where('item_type', '=', 'track')
        .where('item_id', 'in', trackIds.slice(i, i + 500))
        .execute();
    }
  }

  findTrack(id: string): Promise<TrackRow | undefined> {
    return this.db.selectFrom('tracks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** One counted play: the log row plus play_count/last_played of the track, its album and artist. */
  async recordPlay(
    userId: string,
    track: TrackRow,
    secondsPlayed: number,
    now: number,
    client: string | null,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('plays')
        .values({ user_id: userId, track_id: track.id, played_at: now, seconds_played: secondsPlayed, client })
        .execute();
      const items: [LikeableType, string | null][] = [
        ['track', track.id],
        ['album', track.album_id],
        ['artist', track.artist_id],
      ];
      for (const [type, id] of items) {
        if (!id) continue;
        await trx
          .insertInto('user_activity')
          .values({
            user_id: userId,
            item_type: type,
            item_id: id,
            play_count: 1,
            last_played: now,
            is_liked: 0,
            liked_at: null,
            rating: null,
          })
          .onConflict((oc) =>
            oc
              .columns(['user_id', 'item_type', 'item_id'])
              .doUpdateSet({ play_count: sql`user_activity.play_count + 1`, last_played: now }),
          )
          .execute();
      }
    });
  }

  async history(userId: string, limit: number, offset: number) {
    const rows = await this.db
      .selectFrom('plays')
      .leftJoin('tracks', 'tracks.id', 'plays.track_id')
      .select(['plays.id as play_id', 'plays.played_at', 'plays.seconds_played', 'plays.track_id as play_track_id'])
      .selectAll('tracks')
      .where('plays.user_id', '=', userId)
      .orderBy('plays.played_at', 'desc')
      .orderBy('plays.id', 'desc')
      .limit(limit)
      .offset(offset)
      .execute();
    const { n } = await this.db
      .selectFrom('plays')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return {
      rows: rows.map(({ play_id, played_at, seconds_played, play_track_id, ...track }) => ({
        id: play_id,
        playedAt: played_at,
        secondsPlayed: seconds_played,
        track: play_track_id !== null && track.id ? (track as TrackRow) : null,
      })),
      total: Number(n),
    };
  }

  /** The user's most played tracks since a time, from the plays log. */
  async mostPlayedSince(userId: string, since: number, limit: number) {
    const rows = await this.db
      .selectFrom('plays')
      .innerJoin('tracks', 'tracks.id', 'plays.track_id')
      .selectAll('tracks')
      .select((eb) => eb.fn.countAll<number>().as('play_count'))
      .select((eb) => eb.fn.max('plays.played_at').as('last_play'))
      .where('plays.user_id', '=', userId)
      .where('plays.played_at', '>=', since)
      .groupBy('tracks.id')
      .orderBy('play_count', 'desc')
      .orderBy('last_play', 'desc')
      .limit(limit)
      .execute();
    return rows.map(({ play_count, last_play: _last, ...track }) => ({
      plays: Number(play_count),
      track: track as TrackRow,
    }));
  }

  async recentlyPlayed(userId: string, limit: number): Promise<TrackRow[]> {
    return (await this.db
      .selectFrom('user_activity as ua')
      .innerJoin('tracks', 'tracks.id', 'ua.item_id')
      .selectAll('tracks')
      .where('ua.user_id', '=', userId)
      .where('ua.item_type', '=', 'track')
      .where('ua.last_played', 'is not', null)
      .orderBy('ua.last_played', 'desc')
      .limit(limit)
      .execute()) as TrackRow[];
  }

  recentlyAddedTracks(limit: number): Promise<TrackRow[]> {
    return this.db.selectFrom('tracks').selectAll().orderBy('added_at', 'desc').orderBy('id').limit(limit).execute();
  }

  recentlyAddedAlbums(limit: number): Promise<Selectable<AlbumsTable>[]> {
    return this.db.selectFrom('albums').selectAll().orderBy('added_at', 'desc').orderBy('id').limit(limit).execute();
  }
}
