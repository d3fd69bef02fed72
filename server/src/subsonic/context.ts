/** What every Subsonic method receives, and the shared helper that turns song rows into nodes. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser } from '../accounts/auth-context.js';
import type { Accounts } from '../accounts/index.js';
import type { AlbumRow, BrowseRepository, SongRow } from '../catalog/browse.repository.js';
import type { LocalSearch } from '../catalog/search-api.js';
import type { Config } from '../config/schema.js';
import type { LibraryService } from '../library/library.service.js';
import type { ActivityService } from '../listening/activity.service.js';
import type { PlaylistsService } from '../listening/playlists.service.js';
import type { QueueService } from '../listening/queue.service.js';
import type { SharesService } from '../listening/shares.service.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import type { ThumbnailProxy } from '../sources/thumbnail-proxy.js';
import type { RemoteTracksService } from '../sources/remote-tracks.service.js';
import type { FederatedSearchService } from '../sources/search/federated-search.service.js';
import type { Streaming } from '../streaming/module.js';
import type { StreamPreferencesService } from '../streaming/preferences.service.js';
import type { AuthCache } from './auth.js';
import type { CatalogCache } from './catalog-cache.js';
import type { Node } from './envelope.js';
import { ErrorCode, SubsonicError } from './errors.js';
import { albumNode, songNode } from './mappers.js';
import type { NowPlaying } from './now-playing.js';
import type { Params } from './params.js';

export interface SubsonicDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  serverVersion: string;
  accounts: Accounts;
  browse: BrowseRepository;
  search: LocalSearch;
  activity: ActivityService;
  playlists: PlaylistsService;
  queue: QueueService;
  shares: SharesService;
  library: LibraryService;
  streaming: Streaming;
  preferences: StreamPreferencesService;
  nowPlaying: NowPlaying;
  /** Catalog rows and album orders kept while the catalog version holds (catalog-cache.ts). */
  cache: CatalogCache;
  /** Successful credential checks, dropped at every write (auth.ts). */
  authCache: AuthCache;
  /** Remote providers (federated search); absent when sources are not wired. */
  remoteSearch?: FederatedSearchService;
  /** Adds remote search hits to the catalog when a client first uses them. */
  remoteTracks?: RemoteTracksService;
  /** Remote thumbnails (cover art of remote tracks); absent when sources are not wired. */
  thumbnails?: ThumbnailProxy;
}

export interface Ctx {
  deps: SubsonicDeps;
  user: AuthUser;
  params: Params;
  /** `c`: the client name. */
  client: string;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** A method that wrote the reply itself (binary media). */
export const SENT = Symbol('sent');
export type MethodResult = Node | typeof SENT;
export type Method = (ctx: Ctx) => Promise<MethodResult>;

/**
 * Song rows → Child nodes with the caller's annotations and credits: one query for the
 * annotations, credits and genres from the catalog cache (two more queries for songs not in it).
 */
export async function songNodes(ctx: Ctx, rows: SongRow[]): Promise<Node[]> {
  if (rows.length === 0) return [];
  const [annotations, songs] = await Promise.all([
    ctx.deps.cache.annotations(
      ctx.user.id,
      'track',
      rows.map((r) => r.id),
    ),
    ctx.deps.cache.songExtras(rows),
  ]);
  return songs.map((s) => songNode(s.row, annotations, s.credits, s.genres));
}

/** Songs by id (order kept, unknown ids skipped) → Child nodes, through the catalog cache. */
export async function songNodesByIds(ctx: Ctx, ids: string[]): Promise<Node[]> {
  if (ids.length === 0) return [];
  const [annotations, songs] = await Promise.all([
    ctx.deps.cache.annotations(ctx.user.id, 'track', ids),
    ctx.deps.cache.songsByIds(ids),
  ]);
  return songs.map((s) => songNode(s.row, annotations, s.credits, s.genres));
}

export async function albumNodes(ctx: Ctx, rows: AlbumRow[]): Promise<Node[]> {
  if (rows.length === 0) return [];
  const annotations = await ctx.deps.cache.annotations(
    ctx.user.id,
    'album',
    rows.map((r) => r.id),
  );
  return rows.map((r) => albumNode(r, annotations.get(r.id)));
}

export function requireAdminUser(ctx: Ctx): void {
  if (ctx.user.role !== 'admin') {
    throw new SubsonicError(ErrorCode.NotAuthorized, 'Only an administrator can do this.');
  }
}
