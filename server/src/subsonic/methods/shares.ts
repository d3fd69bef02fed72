/**
 * Shares over the existing public share links (one link per track, album or playlist). `expires`
 * is in ms since the epoch (updateShare: 0 = never); `description` is kept with the link and
 * shown instead of the item's title when there is one.
 */
import type { ShareInfo } from '../../listening/shares.schemas.js';
import type { ShareKind } from '../../db/tables/streaming.js';
import type { Ctx, Method } from '../context.js';
import { songNodes } from '../context.js';
import type { Node } from '../envelope.js';
import { missing } from '../errors.js';
import { iso } from '../mappers.js';

const DAY = 86_400_000;

async function entries(ctx: Ctx, s: ShareInfo): Promise<Node[]> {
  const b = ctx.deps.browse;
  try {
    if (s.kind === 'track') return songNodes(ctx, await b.songs([s.itemId]));
    if (s.kind === 'album') return songNodes(ctx, await b.songsOfAlbum(s.itemId));
    const p = await ctx.deps.playlists.get(ctx.user, s.itemId);
    return songNodes(ctx, await b.songs(p.entries.flatMap((e) => (e.track ? [e.track.id] : []))));
  } catch {
    return []; // the shared item is gone
  }
}

async function shareNode(ctx: Ctx, s: ShareInfo): Promise<Node> {
  return {
    id: s.id,
    url: s.url,
    description: s.description ?? s.title,
    username: ctx.user.username,
    created: iso(s.createdAt),
    expires: iso(s.expiresAt),
    visitCount: s.viewCount,
    entry: await entries(ctx, s),
  };
}

async function kindOf(ctx: Ctx, id: string): Promise<ShareKind> {
  if ((await ctx.deps.browse.songs([id])).length) return 'track';
  if (await ctx.deps.browse.album(id)) return 'album';
  return 'playlist';
}

export const shareMethods: Record<string, Method> = {
  getShares: async (ctx) => {
    const list = (await ctx.deps.shares.list(ctx.user)).filter((s) => !s.expired);
    const share: Node[] = [];
    for (const s of list) share.push(await shareNode(ctx, s));
    return { shares: { share } };
  },

  createShare: async (ctx) => {
    const ids = ctx.params.list('id');
    if (ids.length === 0) throw missing('id');
    const expires = ctx.params.optInt('expires');
    const now = ctx.deps.clock.now();
    const expiresInDays = expires && expires > 0 ? Math.max(1, Math.ceil((expires - now) / DAY)) : null;
    const description = ctx.params.str('description');
    const share: Node[] = [];
    for (const id of ids) {
      const created = await ctx.deps.shares.create(ctx.user, {
        kind: await kindOf(ctx, id),
        id,
        expiresInDays,
        description,
      });
      share.push(await shareNode(ctx, created));
    }
    return { shares: { share } };
  },

  /** `description` (empty clears it) and/or `expires` (ms since the epoch; 0 = never); absent = unchanged. */
  updateShare: async (ctx) => {
    const id = ctx.params.req('id');
    const expires = ctx.params.optInt('expires');
    await ctx.deps.shares.update(ctx.user, id, {
      description: ctx.params.has('description') ? (ctx.params.str('description') ?? '') : undefined,
      expiresAt: expires === undefined ? undefined : expires <= 0 ? null : expires,
    });
    return {};
  },

  deleteShare: async (ctx) => {
    await ctx.deps.shares.revoke(ctx.user, ctx.params.req('id'));
    return {};
  },
};
