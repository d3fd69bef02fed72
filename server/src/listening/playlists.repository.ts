/**
 * SQL for playlists and their entries. Entry positions are kept contiguous (0..n−1) inside
 * transactions, so reorders and removals never leave gaps or duplicates.
 */
import { type Selectable, sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { PlaylistsTable, TracksTable } from '../db/schema.js';
import { newId } from '../shared/ids.js';

/** The position of an entry of this playlist (undefined when the entry is not in it). */
function entryPosition(db: Db, playlistId: string, entryId: string) {
  return db
    .selectFrom('playlist_tracks')
    .select('position')
    .where('id', '=', entryId)
    .where('playlist_id', '=', playlistId)
    .executeTakeFirst();
}

function entryCount(db: Db, playlistId: string) {
  return db
    .selectFrom('playlist_tracks')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('playlist_id', '=', playlistId)
    .executeTakeFirstOrThrow();
}

export interface PlaylistRow extends Selectable<PlaylistsTable> {
  owner_name: string;
  track_count: number;
  duration: number;
}

export interface EntryRow {
  id: string;
  position: number;
  title: string;
  artist: string | null;
  album: string | null;
  duration: number | null;
  track: Selectable<TracksTable> | null;
}

export type TrackSnapshot = Pick<Selectable<TracksTable>, 'id' | 'title' | 'artist' | 'album' | 'duration'>;

export class PlaylistsRepository {
  constructor(private readonly db: Db) {}

  private base() {
    return this.db
      .selectFrom('playlists')
      .innerJoin('users', 'users.id', 'playlists.owner_id')
      .selectAll('playlists')
      .select([
        'users.username as owner_name',
        (eb) =>
          eb
            .selectFrom('playlist_tracks')
            .select((e) => e.fn.countAll<number>().as('n'))
            .whereRef('playlist_tracks.playlist_id', '=', 'playlists.id')
            .as('track_count'),
        (eb) =>
          eb
            .selectFrom('playlist_tracks')
            .select(sql<number>`coalesce(sum(duration), 0)`.as('d'))
            .whereRef('playlist_tracks.playlist_id', '=', 'playlists.id')
            .as('duration'),
      ]);
  }

  /** The user's own playlists and everyone's public ones. */
  async listVisible(userId: string, limit: number, offset: number): Promise<{ rows: PlaylistRow[]; total: number }> {
    const visible = (qb: ReturnType<PlaylistsRepository['base']>) =>
      qb.where((eb) => eb.or([eb('playlists.owner_id', '=', userId), eb('playlists.is_public', '=', 1)]));
    const rows = await visible(this.base())
      .orderBy(sql`playlists.owner_id = ${userId}`, 'desc')
      .orderBy(sql`lower(playlists.name)`)
      .orderBy('playlists.id')
      .limit(limit)
      .offset(offset)
      .execute();
    const total = await this.db
      .selectFrom('playlists')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where((eb) => eb.or([eb('owner_id', '=', userId), eb('is_public', '=', 1)]))
      .executeTakeFirstOrThrow();
    return { rows: rows as PlaylistRow[], total: Number(total.n) };
  }

  async find(id: string): Promise<PlaylistRow | undefined> {
    return (await this.base().where('playlists.id', '=', id).executeTakeFirst()) as PlaylistRow | undefined;
  }

  async insert(row: {
    ownerId: string;
    name: string;
    description: string;
    isPublic: boolean;
    now: number;
  }): Promise<string> {
    const id = newId();
    await this.db
      .insertInto('playlists')
      .values({
        id,
        owner_id: row.ownerId,
        name: row.name,
        description: row.description,
        is_public: row.isPublic ? 1 : 0,
        is_offline: 0,
        created_at: row.now,
        updated_at: row.now,
      })
      .execute();
    return id;
  }

  async update(
    id: string,
    patch: { name?: string; description?: string; isPublic?: boolean; isOffline?: boolean },
    now: number,
  ): Promise<void> {
    await this.db
      .updateTable('playlists')
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.isPublic !== undefined ? { is_public: patch.isPublic ? 1 : 0 } : {}),
        ...(patch.isOffline !== undefined ? { is_offline: patch.isOffline ? 1 : 0 } : {}),
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('playlists').where('id', '=', id).execute();
  }

  async entries(playlistId: string): Promise<EntryRow[]> {
    const rows = await this.db
      .selectFrom('playlist_tracks as pt')
      .leftJoin('tracks', 'tracks.id', 'pt.track_id')
      .select([
        'pt.id as entry_id',
        'pt.position as entry_position',
        'pt.title as entry_title',
        'pt.artist as entry_artist',
      ])
      .select(['pt.album as entry_album', 'pt.duration as entry_duration', 'pt.track_id as entry_track_id'])
      .selectAll('tracks')
      .where('pt.playlist_id', '=', playlistId)
      .orderBy('pt.position')
      .execute();
    return rows.map((r) => {
      const {
        entry_id,
        entry_position,
        entry_title,
        entry_artist,
        entry_album,
        entry_duration,
        entry_track_id,
        ...track
      } = r;
      return {
        id: entry_id,
        position: entry_position,
        title: entry_title,
        artist: entry_artist,
        album: entry_album,
        duration: entry_duration,
        track: entry_track_id !== null && track.id ? (track as Selectable<TracksTable>) : null,
      };
    });
  }

  /** Tracks by id (for adding), in no particular order. */
  async tracksByIds(ids: string[]): Promise<TrackSnapshot[]> {
    const out: TrackSnapshot[] = [];
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += 500) {
      out.push(
        ...(await this.db
          .selectFrom('tracks')
          .select(['id', 'title', 'artist', 'album', 'duration'])
          .where('id', 'in', unique.slice(i, i + 500))
          .execute()),
      );
    }
    return out;
  }

  /** Inserts tracks (in the given order) at `position` (clamped; default: the end). */
  async insertEntries(
    playlistId: string,
    tracks: TrackSnapshot[],
    position: number | undefined,
    now: number,
  ): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const { n } = await entryCount(trx, playlistId);
      const count = Number(n);
      const at = position === undefined ? count : Math.min(Math.max(0, position), count);
      if (at < count) {
        await trx
          .updateTable('playlist_tracks')
          .set({ position: sql`position + ${tracks.length}` })
          .where('playlist_id', '=', playlistId)
          .where('position', '>=', at)
          .execute();
      }
      for (let i = 0; i < tracks.length; i += 200) {
        await trx
          .insertInto('playlist_tracks')
          .values(
            tracks.slice(i, i + 200).map((t, j) => ({
              id: newId(),
              playlist_id: playlistId,
              position: at + i + j,
              track_id: t.id,
              title: t.title,
              artist: t.artist,
              album: t.album,
              duration: t.duration,
              added_at: now,
            })),
          )
          .execute();
      }
      await trx.updateTable('playlists').set({ updated_at: now }).where('id', '=', playlistId).execute();
      return at;
    });
  }

  async removeEntry(playlistId: string, entryId: string, now: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const entry = await entryPosition(trx, playlistId, entryId);
      if (!entry) return false;
      await trx.deleteFrom('playlist_tracks').where('id', '=', entryId).execute();
      await trx
        .updateTable('playlist_tracks')
        .set({ position: sql`position - 1` })
        .where('playlist_id', '=', playlistId)
        .where('position', '>', entry.position)
        .execute();
      await trx.updateTable('playlists').set({ updated_at: now }).where('id', '=', playlistId).execute();
      return true;
    });
  }

  /** Moves an entry to `toPosition` (clamped), shifting the entries in between. */
  async moveEntry(playlistId: string, entryId: string, toPosition: number, now: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const entry = await entryPosition(trx, playlistId, entryId);
      if (!entry) return false;
      const { n } = await entryCount(trx, playlistId);
      const from = entry.position;
      const to = Math.min(Math.max(0, toPosition), Number(n) - 1);
      if (from === to) return true;
      const shift = trx.updateTable('playlist_tracks').where('playlist_id', '=', playlistId);
      if (to > from) {
        await shift
          .set({ position: sql`position - 1` })
          .where('position', '>', from)
          .where('position', '<=', to)
          .execute();
      } else {
        await shift
          .set({ position: sql`position + 1` })
          .where('position', '>=', to)
          .where('position', '<', from)
          .execute();
      }
      await trx.updateTable('playlist_tracks').set({ position: to }).where('id', '=', entryId).execute();
      await trx.updateTable('playlists').set({ updated_at: now }).where('id', '=', playlistId).execute();
      return true;
    });
  }

  /** Local track by its path relative to the music dir (exact match). */
  findLocalByPath(relativePath: string) {
    return this.db
      .selectFrom('tracks')
      .select(['id', 'title', 'artist', 'album', 'duration'])
      .where('source_type', '=', 'local')
      .where('local_path', '=', relativePath)
      .executeTakeFirst();
  }

  /** Tracks whose tags match (case-insensitive equality, never LIKE); at most two, to detect ambiguity. */
  findByTags(title: string, artist: string | undefined) {
    let q = this.db
      .selectFrom('tracks')
      .select(['id', 'title', 'artist', 'album', 'duration'])
      .where(sql`lower(title)`, '=', title.toLowerCase());
    if (artist !== undefined) q = q.where(sql`lower(artist)`, '=', artist.toLowerCase());
    return q.orderBy(sql`source_type = 'local'`, 'desc').orderBy('added_at').limit(2).execute();
  }
}
