/**
 * The current user's `liked` flags for a batch of items, in one query — used by every response
 * that lists tracks, albums or artists (the heart next to each search result). Implements the
 * catalog's {@link LikedFlags} port, so catalog and sources read likes without importing listening.
 */
import type { LikedFlags, LikeableType } from '../catalog/liked.js';
import type { Db } from '../db/database.js';

export class LikedFlagsRepository implements LikedFlags {
  constructor(private readonly db: Db) {}

  async likedIds(userId: string | null | undefined, type: LikeableType, ids: string[]): Promise<Set<string>> {
    if (!userId || ids.length === 0) return new Set();
    const unique = [...new Set(ids)];
    const liked = new Set<string>();
    // Chunked to stay far below SQLite's bound-parameter limit.
    for (let i = 0; i < unique.length; i += 500) {
      const rows = await this.db
        .selectFrom('user_activity')
        .select('item_id')
        .where('user_id', '=', userId)
        .where('item_type', '=', type)
        .where('is_liked', '=', 1)
        .where('item_id', 'in', unique.slice(i, i + 500))
        .execute();
      for (const r of rows) liked.add(r.item_id);
    }
    return liked;
  }
}
