/**
 * star / unstar / setRating / scrobble. `scrobble?submission=false` marks "now playing";
 * `submission=true` (the default) records a play the way the web player does — a Subsonic client
 * scrobbles once the Last.fm rule is met, so the play is counted as heard in full.
 */
import type { LikeableType } from '../../catalog/liked.js';
import type { Ctx, Method } from '../context.js';
import { missing } from '../errors.js';

async function kindOf(ctx: Ctx, id: string): Promise<LikeableType> {
  const b = ctx.deps.browse;
  if ((await b.songs([id])).length) return 'track';
  if (await b.album(id)) return 'album';
  return 'artist';
}

async function star(ctx: Ctx, liked: boolean) {
  const p = ctx.params;
  const items: [LikeableType, string][] = [
    ...p.list('albumId').map((id) => ['album', id] as [LikeableType, string]),
    ...p.list('artistId').map((id) => ['artist', id] as [LikeableType, string]),
  ];
  for (const id of p.list('id')) items.push([await kindOf(ctx, id), id]);
  if (items.length === 0) throw missing('id, albumId or artistId');
  for (const [type, id] of items) await ctx.deps.activity.setLiked(ctx.user, type, id, liked);
  return {};
}

export const annotationMethods: Record<string, Method> = {
  star: (ctx) => star(ctx, true),
  unstar: (ctx) => star(ctx, false),

  setRating: async (ctx) => {
    const id = ctx.params.req('id');
    const rating = ctx.params.reqInt('rating');
    await ctx.deps.activity.setRating(ctx.user, await kindOf(ctx, id), id, rating);
    return {};
  },

  scrobble: async (ctx) => {
    const ids = ctx.params.list('id');
    if (ids.length === 0) throw missing('id');
    const submission = ctx.params.bool('submission', true);
    const songs = await ctx.deps.browse.songs(ids);
    if (songs.length !== new Set(ids).size) {
      const known = new Set(songs.map((s) => s.id));
      const unknown = ids.find((id) => !known.has(id)) ?? ids[0];
      // Same message and code as every other unknown id.
      await ctx.deps.activity.recordPlay(ctx.user, { trackId: unknown, secondsPlayed: 0 });
    }
    for (const song of songs) {
      if (!submission) {
        ctx.deps.nowPlaying.set({
          userId: ctx.user.id,
          username: ctx.user.username,
          trackId: song.id,
          client: ctx.client,
          durationMs: song.duration === null ? null : song.duration * 1000,
        });
        continue;
      }
      await ctx.deps.activity.recordPlay(ctx.user, {
        trackId: song.id,
        // Unknown durations count by the 4-minute rule, which a scrobble already satisfied.
        secondsPlayed: song.duration ?? 240,
        client: ctx.client,
      });
    }
    return {};
  },
};
