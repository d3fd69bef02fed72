/**
 * The play queue a listener saves on one device and resumes on another (Subsonic
 * get/savePlayQueue and their index-based forms), and per-track bookmarks (audiobooks, long mixes).
 * Tracks that left the catalog since are dropped when the queue is read.
 */
import type { AuthUser } from '../accounts/auth-context.js';
import { Invalid, NotFound } from '../shared/errors.js';
import type { Clock } from '../shared/time.js';
import type { QueueRepository } from './queue.repository.js';

export const QUEUE_MAX_TRACKS = 10_000;
const CLIENT_MAX = 100;

export interface SavedQueue {
  trackIds: string[];
  currentIndex: number | null;
  positionMs: number;
  changedAt: number;
  changedBy: string;
}

export interface Bookmark {
  trackId: string;
  positionMs: number;
  comment: string | null;
  createdAt: number;
  changedAt: number;
}

export class QueueService {
  constructor(
    private readonly repo: QueueRepository,
    private readonly clock: Clock,
  ) {}

  async get(user: AuthUser): Promise<SavedQueue | null> {
    const row = await this.repo.queue(user.id);
    if (!row) return null;
    return {
      trackIds: JSON.parse(row.track_ids) as string[],
      currentIndex: row.current_index,
      positionMs: row.position_ms,
      changedAt: row.changed_at,
      changedBy: row.changed_by,
    };
  }

  /** An empty list clears the queue. `currentIndex` must point into the list. */
  async save(
    user: AuthUser,
    input: { trackIds: string[]; currentIndex: number | null; positionMs: number; client: string },
  ): Promise<void> {
    if (input.trackIds.length === 0) return this.repo.clearQueue(user.id);
    if (input.trackIds.length > QUEUE_MAX_TRACKS) {
      throw new Invalid(`A play queue can hold at most ${QUEUE_MAX_TRACKS} tracks.`, { field: 'id' });
    }
    const index = input.currentIndex;
    if (index !== null && (index < 0 || index >= input.trackIds.length)) {
      throw new Invalid('The current track must be one of the queued tracks.', { field: 'current' });
    }
    if (!Number.isFinite(input.positionMs) || input.positionMs < 0) {
      throw new Invalid('position must be a non-negative number of milliseconds.', { field: 'position' });
    }
    await this.repo.saveQueue({
      user_id: user.id,
      track_ids: JSON.stringify(input.trackIds),
      current_index: index,
      position_ms: Math.round(input.positionMs),
      changed_at: this.clock.now(),
      changed_by: input.client.slice(0, CLIENT_MAX),
    });
  }

  async bookmarks(user: AuthUser): Promise<Bookmark[]> {
    return (await this.repo.bookmarks(user.id)).map((b) => ({
      trackId: b.track_id,
      positionMs: b.position_ms,
      comment: b.comment,
      createdAt: b.created_at,
      changedAt: b.changed_at,
    }));
  }

  async saveBookmark(user: AuthUser, trackId: string, positionMs: number, comment: string | null): Promise<void> {
    if (!Number.isFinite(positionMs) || positionMs < 0) {
      throw new Invalid('position must be a non-negative number of milliseconds.', { field: 'position' });
    }
    if (!(await this.repo.trackExists(trackId))) throw new NotFound('track', trackId);
    const now = this.clock.now();
    await this.repo.upsertBookmark({
      user_id: user.id,
      track_id: trackId,
      position_ms: Math.round(positionMs),
      comment: comment?.slice(0, 2000) ?? null,
      created_at: now,
      changed_at: now,
    });
  }

  async deleteBookmark(user: AuthUser, trackId: string): Promise<void> {
    if (!(await this.repo.deleteBookmark(user.id, trackId))) throw new NotFound('bookmark', trackId);
  }
}
