/** Play queue (id-based and OpenSubsonic index-based) and bookmarks. */
import type { Ctx, Method } from '../context.js';
import { songNodes } from '../context.js';
import { missing } from '../errors.js';
import { iso } from '../mappers.js';

async function queueView(ctx: Ctx) {
  const q = await ctx.deps.queue.get(ctx.user);
  if (!q) return null;
  const rows = await ctx.deps.browse.songs(q.trackIds);
  const known = new Set(rows.map((r) => r.id));
  const current = q.currentIndex === null ? null : q.trackIds[q.currentIndex];
  // Tracks removed since are dropped; the current index follows its track.
  const ids = q.trackIds.filter((id) => known.has(id));
  const currentIndex = current && known.has(current) ? ids.indexOf(current) : undefined;
  return {
    entry: await songNodes(ctx, rows),
    current: current && known.has(current) ? current : undefined,
    currentIndex,
    position: q.positionMs,
    username: ctx.user.username,
    changed: iso(q.changedAt),
    changedBy: q.changedBy,
  };
}

export const queueMethods: Record<string, Method> = {
  getPlayQueue: async (ctx) => {
    const v = await queueView(ctx);
    if (!v) return {};
    return {
      playQueue: {
        current: v.current,
        position: v.position,
        username: v.username,
        changed: v.changed,
        changedBy: v.changedBy,
        entry: v.entry,
      },
    };
  },

  getPlayQueueByIndex: async (ctx) => {
    const v = await queueView(ctx);
    if (!v) return {};
    return {
      playQueueByIndex: {
        currentIndex: v.currentIndex,
        position: v.position,
        username: v.username,
        changed: v.changed,
        changedBy: v.changedBy,
        entry: v.entry,
      },
    };
  },

  savePlayQueue: async (ctx) => {
    const ids = ctx.params.list('id');
    const current = ctx.params.str('current');
    if (ids.length > 0 && !current) throw missing('current');
    const index = current ? ids.indexOf(current) : -1;
    await ctx.deps.queue.save(ctx.user, {
      trackIds: ids,
      currentIndex: ids.length === 0 ? null : index,
      positionMs: ctx.params.int('position', 0),
      client: ctx.client,
    });
    return {};
  },

  savePlayQueueByIndex: async (ctx) => {
    const ids = ctx.params.list('id');
    if (ids.length > 0 && !ctx.params.has('currentIndex')) throw missing('currentIndex');
    await ctx.deps.queue.save(ctx.user, {
      trackIds: ids,
      currentIndex: ids.length === 0 ? null : ctx.params.int('currentIndex', 0),
      positionMs: ctx.params.int('position', 0),
      client: ctx.client,
    });
    return {};
  },

  getBookmarks: async (ctx) => {
    const marks = await ctx.deps.queue.bookmarks(ctx.user);
    const nodes = new Map(
      (await songNodes(ctx, await ctx.deps.browse.songs(marks.map((m) => m.trackId)))).map((n) => [n.id as string, n]),
    );
    return {
      bookmarks: {
        bookmark: marks.flatMap((m) => {
          const entry = nodes.get(m.trackId);
          if (!entry) return [];
          return [
            {
              position: m.positionMs,
              username: ctx.user.username,
              comment: m.comment ?? undefined,
              created: iso(m.createdAt),
              changed: iso(m.changedAt),
              entry,
            },
          ];
        }),
      },
    };
  },

  createBookmark: async (ctx) => {
    await ctx.deps.queue.saveBookmark(
      ctx.user,
      ctx.params.req('id'),
      ctx.params.reqInt('position'),
      ctx.params.str('comment') ?? null,
    );
    return {};
  },

  deleteBookmark: async (ctx) => {
    await ctx.deps.queue.deleteBookmark(ctx.user, ctx.params.req('id'));
    return {};
  },
};
