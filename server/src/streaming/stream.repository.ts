/** SQL for the streaming area: the track columns streaming needs, artwork rows, preferences. */
import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { ArtworkTable, TracksTable } from '../db/schema.js';
import type { StreamPreferencesTable } from '../db/tables/streaming.js';

export type StreamTrack = Pick<
  Selectable<TracksTable>,
  'id' | 'source_type' | 'remote_id' | 'local_path' | 'is_cached' | 'format' | 'bitrate' | 'duration' | 'title'
>;

export type StreamPreferencesRow = Selectable<StreamPreferencesTable>;

export class StreamRepository {
  constructor(private readonly db: Db) {}

  findTrack(id: string): Promise<StreamTrack | undefined> {
    return this.db
      .selectFrom('tracks')
      .select(['id', 'source_type', 'remote_id', 'local_path', 'is_cached', 'format', 'bitrate', 'duration', 'title'])
      .where('id', '=', id)
      .executeTakeFirst();
  }

  trackExists(id: string): Promise<boolean> {
    return this.db
      .selectFrom('tracks')
      .select('id')
      .where('id', '=', id)
      .executeTakeFirst()
      .then((r) => r !== undefined);
  }

  findActiveUser(id: string) {
    return this.db
      .selectFrom('users')
      .select(['id', 'username', 'role'])
      .where('id', '=', id)
      .where('disabled', '=', 0)
      .executeTakeFirst();
  }

  findArtwork(id: string): Promise<Selectable<ArtworkTable> | undefined> {
    return this.db.selectFrom('artwork').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findAlbum(id: string) {
    return this.db
      .selectFrom('albums')
      .select(['id', 'name', 'album_artist', 'artwork_id'])
      .where('id', '=', id)
      .executeTakeFirst();
  }

  findTrackCover(id: string) {
    return this.db
      .selectFrom('tracks')
      .leftJoin('albums', 'albums.id', 'tracks.album_id')
      .select([
        'tracks.id',
        'tracks.title',
        'tracks.album',
        'tracks.album_id',
        'tracks.artwork_id as track_artwork_id',
        'albums.artwork_id as album_artwork_id',
      ])
      .where('tracks.id', '=', id)
      .executeTakeFirst();
  }

  findPreferences(userId: string): Promise<StreamPreferencesRow | undefined> {
    return this.db.selectFrom('stream_preferences').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  async upsertPreferences(row: StreamPreferencesRow): Promise<void> {
    await this.db
      .insertInto('stream_preferences')
      .values(row)
      .onConflict((oc) =>
        oc.column('user_id').doUpdateSet({
          default_format: row.default_format,
          default_max_bitrate: row.default_max_bitrate,
          lan_original: row.lan_original,
          estimate_content_length: row.estimate_content_length,
          updated_at: row.updated_at,
        }),
      )
      .execute();
  }
}
