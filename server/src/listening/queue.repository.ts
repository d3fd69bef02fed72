/** SQL for the saved play queue and bookmarks (migration 0010). Every query is scoped by `user_id`. */
import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { BookmarksTable, PlayQueuesTable } from '../db/tables/subsonic.js';

export type PlayQueueRow = Selectable<PlayQueuesTable>;
export type BookmarkRow = Selectable<BookmarksTable>;

export class QueueRepository {
  constructor(private readonly db: Db) {}

  queue(userId: string): Promise<PlayQueueRow | undefined> {
    return this.db.selectFrom('play_queues').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  async saveQueue(row: PlayQueueRow): Promise<void> {
    await this.db
      .insertInto('play_queues')
      .values(row)
      .onConflict((oc) =>
        oc.column('user_id').doUpdateSet({
          track_ids: row.track_ids,
          current_index: row.current_index,
          position_ms: row.position_ms,
          changed_at: row.changed_at,
          changed_by: row.changed_by,
        }),
      )
      .execute();
  }

  async clearQueue(userId: string): Promise<void> {
    await this.db.deleteFrom('play_queues').where('user_id', '=', userId).execute();
  }

  bookmarks(userId: string): Promise<BookmarkRow[]> {
    return this.db
      .selectFrom('bookmarks')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('changed_at', 'desc')
      .execute();
  }

  async upsertBookmark(row: BookmarkRow): Promise<void> {
    await this.db
      .insertInto('bookmarks')
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(['user_id', 'track_id'])
          .doUpdateSet({ position_ms: row.position_ms, comment: row.comment, changed_at: row.changed_at }),
      )
      .execute();
  }

  async deleteBookmark(userId: string, trackId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('bookmarks')
      .where('user_id', '=', userId)
      .where('track_id', '=', trackId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async trackExists(id: string): Promise<boolean> {
    return (await this.db.selectFrom('tracks').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }
}
