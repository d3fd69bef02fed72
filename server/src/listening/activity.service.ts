/**
 * Likes, plays and the personal lists built from them (history, Discovery). Everything is scoped
 * to the caller; there is no way to name another user here, so nobody can read anyone else's.
 *
 * Play counting follows Last.fm's scrobble rule: a play counts once at least half of the track,
 * or 4 minutes, was heard (only the 4-minute rule applies when the duration is unknown).
 */
import type { AuthUser } from '../accounts/auth-context.js';
import { Invalid, NotFound } from '../shared/errors.js';
import type { Clock } from '../shared/time.js';
import type { LikeableType, LikedFlags } from '../catalog/liked.js';
import type { ActivityRepository } from './activity.repository.js';
import { albumDtos, artistDtos, trackDtos } from './tracks-dto.js';

export const SCROBBLE_MIN_SECONDS = 240;
export const SCROBBLE_MIN_FRACTION = 0.5;
const DAY = 24 * 3600 * 1000;
const DISCOVER_LIMIT = 20;

/** The Last.fm rule. */
export function playCounts(secondsPlayed: number, duration: number | null): boolean {
  if (secondsPlayed >= SCROBBLE_MIN_SECONDS) return true;
  return duration !== null && duration > 0 && secondsPlayed >= duration * SCROBBLE_MIN_FRACTION;
}

export class ActivityService {
  constructor(
    private readonly repo: ActivityRepository,
    private readonly liked: LikedFlags,
    private readonly clock: Clock,
  ) {}

  async setLiked(user: AuthUser, type: LikeableType, id: string, liked: boolean): Promise<void> {
    if (!(await this.repo.itemExists(type, id))) throw new NotFound(type, id);
    await this.repo.setLiked(user.id, type, id, liked, this.clock.now());
  }

  /** Rates a track, album or artist 1–5 (0 removes the rating). */
  async setRating(user: AuthUser, type: LikeableType, id: string, rating: number): Promise<void> {
    if (!Number.isInteger(rating) || rating < 0 || rating > 5) {
      throw new Invalid('rating must be a whole number from 0 (no rating) to 5.', { field: 'rating' });
    }
    if (!(await this.repo.itemExists(type, id))) throw new NotFound(type, id);
    await this.repo.setRating(user.id, type, id, rating === 0 ? null : rating);
  }

  async likedTracks(user: AuthUser, limit: number, offset: number) {
    const { rows, total } = await this.repo.likedTracks(user.id, limit, offset);
    return { items: await trackDtos(this.liked, user.id, rows), total, limit, offset };
  }

  async likedAlbums(user: AuthUser, limit: number, offset: number) {
    const { rows, total } = await this.repo.likedAlbums(user.id, limit, offset);
    return { items: await albumDtos(this.liked, user.id, rows), total, limit, offset };
  }

  async likedArtists(user: AuthUser, limit: number, offset: number) {
    const { rows, total } = await this.repo.likedArtists(user.id, limit, offset);
    return { items: await artistDtos(this.liked, user.id, rows), total, limit, offset };
  }

  async recordPlay(user: AuthUser, input: { trackId: string; secondsPlayed: number; client?: string }) {
    const track = await this.repo.findTrack(input.trackId);
    if (!track) throw new NotFound('track', input.trackId);
    const counted = playCounts(input.secondsPlayed, track.duration);
    if (counted) {
      await this.repo.recordPlay(
        user.id,
        track,
        input.secondsPlayed,
        this.clock.now(),
        input.client?.slice(0, 100) ?? null,
      );
    }
    return { counted };
  }

  /** Called when tracks are deleted from the catalog: their likes and counters go too (plays keep a null track). */
  forgetTracks(trackIds: string[]): Promise<void> {
    return this.repo.forgetTracks(trackIds);
  }

  async history(user: AuthUser, limit: number, offset: number) {
    const { rows, total } = await this.repo.history(user.id, limit, offset);
    const tracks = await trackDtos(
      this.liked,
      user.id,
      rows.flatMap((r) => (r.track ? [r.track] : [])),
    );
    const byId = new Map(tracks.map((t) => [t.id, t]));
    return {
      items: rows.map((r) => ({
        id: r.id,
        playedAt: r.playedAt,
        secondsPlayed: r.secondsPlayed,
        track: r.track ? (byId.get(r.track.id) ?? null) : null,
      })),
      total,
      limit,
      offset,
    };
  }

  /** The Discovery tab: new in the library, the caller's favourites of the week/month, recent plays and likes. */
  async discover(user: AuthUser) {
    const now = this.clock.now();
    const [added, albums, week, month, recent, liked] = await Promise.all([
      this.repo.recentlyAddedTracks(DISCOVER_LIMIT),
      this.repo.recentlyAddedAlbums(DISCOVER_LIMIT),
      this.repo.mostPlayedSince(user.id, now - 7 * DAY, DISCOVER_LIMIT),
      this.repo.mostPlayedSince(user.id, now - 30 * DAY, DISCOVER_LIMIT),
      this.repo.recentlyPlayed(user.id, DISCOVER_LIMIT),
      this.repo.likedTracks(user.id, DISCOVER_LIMIT, 0),
    ]);
    // One liked-flags query for every track in the response.
    const all = [...added, ...week.map((w) => w.track), ...month.map((m) => m.track), ...recent, ...liked.rows];
    const dtos = new Map((await trackDtos(this.liked, user.id, all)).map((t) => [t.id, t]));
    const pick = (id: string) => dtos.get(id)!;
    return {
      recentlyAdded: added.map((t) => pick(t.id)),
      recentlyAddedAlbums: await albumDtos(this.liked, user.id, albums),
      mostPlayedWeek: week.map((w) => ({ plays: w.plays, track: pick(w.track.id) })),
      mostPlayedMonth: month.map((m) => ({ plays: m.plays, track: pick(m.track.id) })),
      recentlyPlayed: recent.map((t) => pick(t.id)),
      liked: liked.rows.map((t) => pick(t.id)),
    };
  }
}
