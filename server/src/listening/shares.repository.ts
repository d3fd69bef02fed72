/** SQL for share links and the items they expose (tracks, albums, playlists). */
import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { SharesTable, ShareKind } from '../db/tables/streaming.js';

export type ShareRow = Selectable<SharesTable>;

export interface SharedTrackRow {
  id: string;
  title: string;
  artist: string | null;
  album: string | null;
  duration: number | null;
}

const TRACK_COLUMNS = ['tracks.id', 'tracks.title', 'tracks.artist', 'tracks.album', 'tracks.duration'] as const;

export class SharesRepository {
  constructor(private readonly db: Db) {}

  async insert(row: ShareRow): Promise<void> {
    await this.db.insertInto('shares').values(row).execute();
  }

  findById(id: string): Promise<ShareRow | undefined> {
    return this.db.selectFrom('shares').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listByOwner(ownerId: string): Promise<ShareRow[]> {
    return this.db
      .selectFrom('shares')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where('revoked_at', 'is', null)
      .orderBy('created_at', 'desc')
      .limit(1000)
      .execute();
  }

  /**
   * Live shares other people made of things `userId` owns: their playlists, and — for
   * administrators, who own the library — every track and album share.
   */
  listOfOwnedItems(userId: string, isAdmin: boolean): Promise<ShareRow[]> {
    return this.db
      .selectFrom('shares')
      .selectAll()
      .where('owner_id', '!=', userId)
      .where('revoked_at', 'is', null)
      .where((eb) =>
        eb.or([
          eb.and([
            eb('kind', '=', 'playlist'),
            eb('item_id', 'in', eb.selectFrom('playlists').select('id').where('owner_id', '=', userId)),
          ]),
          ...(isAdmin ? [eb('kind', 'in', ['track', 'album'])] : []),
        ]),
      )
      .orderBy('created_at', 'desc')
      .limit(1000)
      .execute();
  }

  async revoke(id: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('shares')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** The share's creator, when the account still exists. */
  creator(userId: string) {
    return this.db
      .selectFrom('users')
      .select(['id', 'username', 'disabled'])
      .where('id', '=', userId)
      .executeTakeFirst();
  }

  /** Sets a live share's description and/or expiry; false when it is gone (revoked meanwhile). */
  async update(id: string, changes: { description?: string | null; expires_at?: number | null }): Promise<boolean> {
    if (changes.description === undefined && changes.expires_at === undefined) return true;
    const r = await this.db
      .updateTable('shares')
      .set(changes)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async countView(id: string, now: number): Promise<void> {
    await this.db
      .updateTable('shares')
      .set((eb) => ({ view_count: eb('view_count', '+', 1), last_viewed_at: now }))
      .where('id', '=', id)
      .execute();
  }

  findTrack(id: string) {
    return this.db
      .selectFrom('tracks')
      .select([...TRACK_COLUMNS, 'tracks.album_id'])
      .where('id', '=', id)
      .executeTakeFirst();
  }

  findAlbum(id: string) {
    return this.db
      .selectFrom('albums')
      .select(['id', 'name', 'album_artist', 'year'])
      .where('id', '=', id)
      .executeTakeFirst();
  }

  albumTracks(albumId: string): Promise<SharedTrackRow[]> {
    return this.db
      .selectFrom('tracks')
      .select([...TRACK_COLUMNS])
      .where('album_id', '=', albumId)
      .orderBy('disc_number')
      .orderBy('track_number')
      .orderBy('title')
      .limit(2000)
      .execute();
  }

  findPlaylist(id: string) {
    return this.db
      .selectFrom('playlists')
      .select(['id', 'name', 'owner_id', 'is_public', 'description'])
      .where('id', '=', id)
      .executeTakeFirst();
  }

  playlistTracks(playlistId: string): Promise<SharedTrackRow[]> {
    return this.db
      .selectFrom('playlist_tracks')
      .innerJoin('tracks', 'tracks.id', 'playlist_tracks.track_id')
      .select([...TRACK_COLUMNS])
      .where('playlist_tracks.playlist_id', '=', playlistId)
      .orderBy('playlist_tracks.position')
      .limit(5000)
      .execute();
  }

  ownerName(userId: string) {
    return this.db.selectFrom('users').select(['username', 'display_name']).where('id', '=', userId).executeTakeFirst();
  }

  /** Is `trackId` one of the tracks a share of this kind/item exposes? (One indexed query.) */
  async containsTrack(kind: ShareKind, itemId: string, trackId: string): Promise<boolean> {
    if (kind === 'track') return itemId === trackId;
    if (kind === 'album') {
      const r = await this.db
        .selectFrom('tracks')
        .select('id')
        .where('id', '=', trackId)
        .where('album_id', '=', itemId)
        .executeTakeFirst();
      return r !== undefined;
    }
    const r = await this.db
      .selectFrom('playlist_tracks')
      .select('id')
      .where('playlist_id', '=', itemId)
      .where('track_id', '=', trackId)
      .executeTakeFirst();
    return r !== undefined;
  }
}
