/** The SQL behind offline playlists: which remote tracks of which playlists still need a download. */
import type { Db } from '../../db/database.js';

export class OfflineRepository {
  constructor(private readonly db: Db) {}

  /**
   * Distinct remote tracks without a cached copy that are in a playlist — in `playlistId` only,
   * among `trackIds` only, or in any playlist marked offline (`offlineOnly`).
   */
  async uncachedRemoteTrackIds(filter: {
    playlistId?: string;
    trackIds?: string[];
    offlineOnly?: boolean;
  }): Promise<string[]> {
    let q = this.db
      .selectFrom('playlist_tracks as pt')
      .innerJoin('tracks as t', 't.id', 'pt.track_id')
      .select('t.id')
      .distinct()
      .where('t.source_type', '!=', 'local')
      .where('t.is_cached', '=', 0);
    if (filter.playlistId !== undefined) q = q.where('pt.playlist_id', '=', filter.playlistId);
    if (filter.trackIds !== undefined) q = q.where('t.id', 'in', filter.trackIds);
    if (filter.offlineOnly) q = q.innerJoin('playlists as p', 'p.id', 'pt.playlist_id').where('p.is_offline', '=', 1);
    return (await q.execute()).map((r) => r.id);
  }

  playlist(id: string) {
    return this.db.selectFrom('playlists').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The playlist's remote tracks (each once) and whether each has a cached copy. */
  remoteTracksOf(playlistId: string) {
    return this.db
      .selectFrom('playlist_tracks as pt')
      .innerJoin('tracks as t', 't.id', 'pt.track_id')
      .select(['t.id', 't.is_cached'])
      .distinct()
      .where('pt.playlist_id', '=', playlistId)
      .where('t.source_type', '!=', 'local')
      .execute();
  }
}
