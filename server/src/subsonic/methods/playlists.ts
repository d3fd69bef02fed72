/** Playlists (all five methods) over the listening area's PlaylistsService: the same rules as the web app. */
import type { PlaylistDto, PlaylistEntryDto } from '../../listening/playlists.schemas.js';
import type { Ctx, Method } from '../context.js';
import { songNodes } from '../context.js';
import type { Node } from '../envelope.js';
import { ErrorCode, missing, SubsonicError } from '../errors.js';
import { iso } from '../mappers.js';

function playlistNode(p: PlaylistDto): Node {
  return {
    id: p.id,
    name: p.name,
    comment: p.description || undefined,
    owner: p.ownerName,
    public: p.isPublic,
    songCount: p.trackCount,
    duration: Math.round(p.duration),
    created: iso(p.createdAt),
    changed: iso(p.updatedAt),
    coverArt: undefined,
    // OpenSubsonic
    readonly: !p.isOwner,
  };
}

async function withEntries(ctx: Ctx, id: string): Promise<Node> {
  const p = await ctx.deps.playlists.get(ctx.user, id);
  const available = p.entries.filter(
    (e): e is PlaylistEntryDto & { track: NonNullable<PlaylistEntryDto['track']> } => e.track !== null,
  );
  const rows = await ctx.deps.browse.songs(available.map((e) => e.track.id));
  const nodes = new Map((await songNodes(ctx, rows)).map((n) => [n.id as string, n]));
  const entry = available.flatMap((e) => nodes.get(e.track.id) ?? []);
  const first = rows[0];
  return {
    playlist: {
      ...playlistNode(p),
      coverArt: first ? (entry[0]?.coverArt as string | undefined) : undefined,
      entry,
    },
  };
}

async function replaceSongs(ctx: Ctx, id: string, songIds: string[]): Promise<void> {
  const current = await ctx.deps.playlists.get(ctx.user, id);
  for (const e of current.entries) await ctx.deps.playlists.removeEntry(ctx.user, id, e.entryId);
  for (let i = 0; i < songIds.length; i += 1000)
    await ctx.deps.playlists.addTracks(ctx.user, id, songIds.slice(i, i + 1000));
}

export const playlistMethods: Record<string, Method> = {
  getPlaylists: async (ctx) => {
    const username = ctx.params.str('username');
    if (username && username.toLowerCase() !== ctx.user.username.toLowerCase() && ctx.user.role !== 'admin') {
      throw new SubsonicError(ErrorCode.NotAuthorized, 'Only an administrator can list the playlists of another user.');
    }
    const all: PlaylistDto[] = [];
    for (let offset = 0; ; offset += 500) {
      const page = await ctx.deps.playlists.list(ctx.user, 500, offset);
      all.push(...page.items);
      if (page.items.length < 500) break;
    }
    const shown = username ? all.filter((p) => p.ownerName.toLowerCase() === username.toLowerCase()) : all;
    return { playlists: { playlist: shown.map(playlistNode) } };
  },

  getPlaylist: async (ctx) => withEntries(ctx, ctx.params.req('id')),

  createPlaylist: async (ctx) => {
    const songIds = ctx.params.list('songId');
    const existing = ctx.params.str('playlistId');
    let id: string;
    if (existing) {
      id = existing;
      await replaceSongs(ctx, id, songIds);
    } else {
      const name = ctx.params.str('name');
      if (!name) throw missing('name or playlistId');
      id = (await ctx.deps.playlists.create(ctx.user, { name })).id;
      if (songIds.length) await replaceSongs(ctx, id, songIds);
    }
    return withEntries(ctx, id);
  },

  updatePlaylist: async (ctx) => {
    const p = ctx.params;
    const id = p.req('playlistId');
    const patch = {
      name: p.str('name'),
      description: p.str('comment'),
      isPublic: p.has('public') ? p.bool('public', false) : undefined,
    };
    if (patch.name !== undefined || patch.description !== undefined || patch.isPublic !== undefined) {
      await ctx.deps.playlists.update(ctx.user, id, patch);
    }
    const remove = [...new Set(p.list('songIndexToRemove').map((v) => Number(v)))].sort((a, b) => b - a);
    if (remove.length) {
      const { entries } = await ctx.deps.playlists.get(ctx.user, id);
      for (const index of remove) {
        const entry = entries[index];
        if (!Number.isInteger(index) || !entry) {
          throw new SubsonicError(ErrorCode.Generic, `songIndexToRemove ${index} is outside the playlist.`);
        }
      }
      // Highest index first, so earlier indexes still point at the same entries.
      for (const index of remove) await ctx.deps.playlists.removeEntry(ctx.user, id, entries[index].entryId);
    }
    const add = p.list('songIdToAdd');
    if (add.length) await ctx.deps.playlists.addTracks(ctx.user, id, add);
    return {};
  },

  deletePlaylist: async (ctx) => {
    await ctx.deps.playlists.delete(ctx.user, ctx.params.req('id'));
    return {};
  },
};
