/** Album and song lists: getAlbumList(2) of every type, random songs, by genre, starred, now playing. */
import type { AlbumListType } from '../../catalog/browse.repository.js';
import type { Ctx, Method } from '../context.js';
import { albumNodes, songNodes } from '../context.js';
import { ErrorCode, SubsonicError } from '../errors.js';
import { albumItems } from '../fragments.js';
import { albumDirNode, artistId3Node, artistNode } from '../mappers.js';

const TYPES: AlbumListType[] = [
  'random',
  'newest',
  'highest',
  'frequent',
  'recent',
  'alphabeticalByName',
  'alphabeticalByArtist',
  'starred',
  'byYear',
  'byGenre',
];

function checkFolder(ctx: Ctx): void {
  const folder = ctx.params.str('musicFolderId');
  if (folder !== undefined && folder !== '' && folder !== '1') {
    throw new SubsonicError(ErrorCode.NotFound, `Music folder not found: ${folder}`);
  }
}

async function albumList(ctx: Ctx) {
  checkFolder(ctx);
  const type = ctx.params.req('type') as AlbumListType;
  if (!TYPES.includes(type)) {
    throw new SubsonicError(
      ErrorCode.Generic,
      `Unknown list type "${type.slice(0, 40)}"; use one of ${TYPES.join(', ')}.`,
    );
  }
  const o = {
    size: ctx.params.int('size', 10, { min: 0, max: 500 }),
    offset: ctx.params.int('offset', 0, { min: 0 }),
    fromYear: ctx.params.optInt('fromYear'),
    toYear: ctx.params.optInt('toYear'),
    genre: ctx.params.str('genre'),
  };
  if (type === 'byYear' && (o.fromYear === undefined || o.toYear === undefined)) {
    throw new SubsonicError(ErrorCode.MissingParameter, 'Required parameter is missing: fromYear and toYear');
  }
  if (type === 'byGenre' && !o.genre)
    throw new SubsonicError(ErrorCode.MissingParameter, 'Required parameter is missing: genre');
  if (o.size === 0) return [];
  if (!CATALOG_ORDERS.has(type)) return ctx.deps.browse.albumList(type, ctx.user.id, o);
  // Catalog-wide orders: the ids are kept while the catalog holds, each page is a slice of them.
  const key =
    type === 'random'
      ? 'all'
      : type === 'byYear'
        ? `byYear:${o.fromYear}:${o.toYear}`
        : type === 'byGenre'
          ? `byGenre:${(o.genre ?? '').toLowerCase()}`
          : type;
  const order = await ctx.deps.cache.order(`albums:${key}`, () =>
    ctx.deps.browse.albumIdsInOrder(type, ctx.user.id, o),
  );
  const ids = type === 'random' ? sample(order, o.size) : order.slice(o.offset, o.offset + o.size);
  return ctx.deps.cache.albumsByIds(ids);
}

/** Types whose order is the same for everyone (the others follow the caller's activity). */
const CATALOG_ORDERS = new Set<AlbumListType>([
  'random',
  'newest',
  'alphabeticalByName',
  'alphabeticalByArtist',
  'byYear',
  'byGenre',
]);

/** `size` distinct items in random order (a partial Fisher–Yates over a copy of the indexes). */
function sample<T>(list: readonly T[], size: number): T[] {
  const n = Math.min(size, list.length);
  const picked = new Map<number, number>();
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (list.length - i));
    const atJ = picked.get(j) ?? j;
    picked.set(j, picked.get(i) ?? i);
    out.push(list[atJ]);
  }
  return out;
}

async function starred(ctx: Ctx) {
  const b = ctx.deps.browse;
  const [artistIds, albumIds, songIds] = await Promise.all([
    b.starredIds(ctx.user.id, 'artist'),
    b.starredIds(ctx.user.id, 'album'),
    b.starredIds(ctx.user.id, 'track'),
  ]);
  const [artists, albums, songs] = await Promise.all([
    b.artistsByIds(artistIds),
    b.albumsByIds(albumIds),
    b.songs(songIds),
  ]);
  const artistAnn = await b.annotations(ctx.user.id, 'artist', artistIds);
  return { artists, albums, songs, artistAnn };
}

export const listMethods: Record<string, Method> = {
  getAlbumList: async (ctx) => {
    const rows = await albumList(ctx);
    const ann = await ctx.deps.cache.annotations(
      ctx.user.id,
      'album',
      rows.map((r) => r.id),
    );
    return { albumList: { album: rows.map((r) => albumDirNode(r, ann.get(r.id))) } };
  },

  getAlbumList2: async (ctx) => ({ albumList2: { album: await albumItems(ctx, await albumList(ctx)) } }),

  getRandomSongs: async (ctx) => {
    checkFolder(ctx);
    const size = ctx.params.int('size', 10, { min: 0, max: 500 });
    const rows = await ctx.deps.browse.randomSongs(
      {
        genre: ctx.params.str('genre') || undefined,
        fromYear: ctx.params.optInt('fromYear'),
        toYear: ctx.params.optInt('toYear'),
      },
      size,
    );
    return { randomSongs: { song: await songNodes(ctx, rows) } };
  },

  getSongsByGenre: async (ctx) => {
    checkFolder(ctx);
    const genre = ctx.params.req('genre');
    const count = ctx.params.int('count', 10, { min: 0, max: 500 });
    const offset = ctx.params.int('offset', 0, { min: 0 });
    return { songsByGenre: { song: await songNodes(ctx, await ctx.deps.browse.songsByGenre(genre, offset, count)) } };
  },

  getStarred: async (ctx) => {
    const s = await starred(ctx);
    const albumAnn = await ctx.deps.cache.annotations(
      ctx.user.id,
      'album',
      s.albums.map((a) => a.id),
    );
    return {
      starred: {
        artist: s.artists.map((a) => artistNode(a, s.artistAnn.get(a.id))),
        album: s.albums.map((a) => albumDirNode(a, albumAnn.get(a.id))),
        song: await songNodes(ctx, s.songs),
      },
    };
  },

  getStarred2: async (ctx) => {
    const s = await starred(ctx);
    return {
      starred2: {
        artist: s.artists.map((a) => artistId3Node(a, s.artistAnn.get(a.id))),
        album: await albumNodes(ctx, s.albums),
        song: await songNodes(ctx, s.songs),
      },
    };
  },

  getNowPlaying: async (ctx) => {
    const entries = ctx.deps.nowPlaying.list();
    const rows = await ctx.deps.browse.songs(entries.map((e) => e.trackId));
    const nodes = new Map((await songNodes(ctx, rows)).map((n) => [n.id as string, n]));
    const now = ctx.deps.clock.now();
    return {
      nowPlaying: {
        entry: entries.flatMap((e) => {
          const song = nodes.get(e.trackId);
          if (!song) return [];
          return [
            {
              ...song,
              username: e.username,
              minutesAgo: Math.floor((now - e.startedAt) / 60_000),
              playerId: 0,
              playerName: e.client,
            },
          ];
        }),
      },
    };
  },
};
