/** SQL for remote tracks (rows of `tracks` with a remote source), their cache state, and URL permissions. */
import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { TracksTable } from '../db/schema.js';
import { newId } from '../shared/ids.js';
import type { RemoteMetadata, RemoteSource } from './providers/provider.js';

export type TrackRow = Selectable<TracksTable>;

export interface CachedFileFacts {
  localPath: string;
  size: number;
  mtime: number;
  format: string | null;
  codec: string | null;
  bitrate: number | null;
  sampleRate: number | null;
  channels: number | null;
  duration: number | null;
  title: string | null;
  artist: string | null;
  album: string | null;
}

export class RemoteTracksRepository {
  constructor(private readonly db: Db) {}

  findById(id: string): Promise<TrackRow | undefined> {
    return this.db.selectFrom('tracks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByRemote(source: RemoteSource, remoteId: string): Promise<TrackRow | undefined> {
    return this.db
      .selectFrom('tracks')
      .selectAll()
      .where('source_type', '=', source)
      .where('remote_id', '=', remoteId)
      .executeTakeFirst();
  }

  /** Rows for many (source, remote id) pairs, in one query per source. */
  async findManyByRemote(items: { source: RemoteSource; remoteId: string }[]): Promise<TrackRow[]> {
    const bySource = new Map<RemoteSource, string[]>();
    for (const i of items) bySource.set(i.source, [...(bySource.get(i.source) ?? []), i.remoteId]);
    const out: TrackRow[] = [];
    for (const [source, ids] of bySource) {
      out.push(
        ...(await this.db
          .selectFrom('tracks')
          .selectAll()
          .where('source_type', '=', source)
          .where('remote_id', 'in', ids)
          .execute()),
      );
    }
    return out;
  }

  /** Inserts the row unless (source, remote id) exists; returns the stored row either way. */
  async upsert(meta: RemoteMetadata, addedBy: string, now: number): Promise<{ row: TrackRow; created: boolean }> {
    const result = await this.db
      .insertInto('tracks')
      .values({
        id: newId(),
        source_type: meta.source,
        remote_id: meta.remoteId,
        title: meta.title.slice(0, 500),
        artist: meta.artist?.slice(0, 500) ?? null,
        album: meta.album?.slice(0, 500) ?? null,
        duration: meta.duration,
        thumbnail_url: meta.thumbnailUrl?.slice(0, 2048) ?? null,
        added_by: addedBy,
        added_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(['source_type', 'remote_id']).where('remote_id', 'is not', null).doNothing())
      .executeTakeFirst();
    const row = await this.findByRemote(meta.source, meta.remoteId);
    if (!row) throw new Error('remote track upsert lost its row');
    return { row, created: Number(result.numInsertedOrUpdatedRows ?? 0) > 0 };
  }

  async markCached(id: string, facts: CachedFileFacts, now: number): Promise<void> {
    await this.db
      .updateTable('tracks')
      .set((eb) => ({
        is_cached: 1,
        local_path: facts.localPath,
        size: facts.size,
        mtime: facts.mtime,
        format: facts.format,
        codec: facts.codec,
        bitrate: facts.bitrate,
        sample_rate: facts.sampleRate,
        channels: facts.channels,
        // The file's real duration and tags win over what the service announced.
        duration: facts.duration ?? eb.ref('duration'),
        title: facts.title ?? eb.ref('title'),
        artist: facts.artist ?? eb.ref('artist'),
        album: facts.album ?? eb.ref('album'),
        updated_at: now,
      }))
      .where('id', '=', id)
      .execute();
  }

  async setArtwork(id: string, artworkId: string, now: number): Promise<void> {
    await this.db.updateTable('tracks').set({ artwork_id: artworkId, updated_at: now }).where('id', '=', id).execute();
  }

  async resetCache(id: string, now: number): Promise<void> {
    await this.db
      .updateTable('tracks')
      .set({ is_cached: 0, local_path: null, size: null, mtime: null, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  cachedRemoteRows(): Promise<Pick<TrackRow, 'id' | 'local_path' | 'source_type' | 'size'>[]> {
    return this.db
      .selectFrom('tracks')
      .select(['id', 'local_path', 'source_type', 'size'])
      .where('is_cached', '=', 1)
      .where('source_type', '!=', 'local')
      .execute();
  }

  async cacheStatsBySource(): Promise<{ source: string; tracks: number; bytes: number }[]> {
    const rows = await this.db
      .selectFrom('tracks')
      .select((eb) => ['source_type', eb.fn.countAll<number>().as('tracks'), eb.fn.sum<number>('size').as('bytes')])
      .where('is_cached', '=', 1)
      .where('source_type', '!=', 'local')
      .groupBy('source_type')
      .execute();
    return rows.map((r) => ({ source: r.source_type, tracks: Number(r.tracks), bytes: Number(r.bytes ?? 0) }));
  }

  async insertArtwork(
    row: { id: string; path: string; mime: string; width: number | null; height: number | null; size: number },
    now: number,
  ): Promise<void> {
    await this.db
      .insertInto('artwork')
      .values({ ...row, source: 'remote', created_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  async canPlayUrls(userId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('source_permissions')
      .select('can_play_urls')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.can_play_urls === 1;
  }

  async setCanPlayUrls(userId: string, allowed: boolean, now: number): Promise<void> {
    await this.db
      .insertInto('source_permissions')
      .values({ user_id: userId, can_play_urls: allowed ? 1 : 0, updated_at: now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ can_play_urls: allowed ? 1 : 0, updated_at: now }))
      .execute();
  }

  async userExists(userId: string): Promise<boolean> {
    return (await this.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()) !== undefined;
  }
}
