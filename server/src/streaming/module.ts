/**
 * Builds the streaming area from the composition root: services, caches, the stream-token auth
 * strategy, the routes plugin and shutdown hooks. main.ts calls {@link createStreaming} once.
 */
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { RequestAuthenticator } from '../accounts/authenticator.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/database.js';
import { accessScope } from '../http/access.js';
import type { DataPaths } from '../shared/fs-paths.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { probeTool } from '../system/tools.js';
import { artworkRoutes } from './artwork.routes.js';
import { ArtworkService } from './artwork.service.js';
import { DiskLru } from './disk-lru.js';
import { StreamPreferencesService } from './preferences.service.js';
import type { RemoteStreamHandler } from './remote-stream.js';
import type { StreamResponderDeps } from './stream-responder.js';
import { StreamTokens } from './stream-tokens.js';
import { StreamRepository } from './stream.repository.js';
import { streamRoutes, streamTokenStrategy } from './stream.routes.js';
import { StreamService } from './stream.service.js';
import { TranscodeLimiter } from './transcode-limiter.js';
import { Transcoder } from './transcoder.js';

const MB = 1024 * 1024;
/** A client that reads nothing for a minute is gone (the stalled-client rule in SECURITY.md; tested in sockets.test.ts). */
export const STREAM_IDLE_TIMEOUT_MS = 60_000;

export interface StreamingDeps {
  config: Config;
  db: Db;
  paths: DataPaths;
  clock: Clock;
  logger: Logger;
  lifecycle: Lifecycle;
  serverKey: Buffer;
  authenticator: RequestAuthenticator;
  /** Test hooks. */
  idleTimeoutMs?: number;
  limiterWaitMs?: number;
}

export interface Streaming {
  service: StreamService;
  artwork: ArtworkService;
  /** Per-user streaming quality preferences. */
  preferences: StreamPreferencesService;
  tokens: StreamTokens;
  transcoder: Transcoder;
  limiter: TranscodeLimiter;
  transcodeCache: DiskLru;
  artworkCache: DiskLru;
  /** What the share routes need to stream a track. */
  responder: StreamResponderDeps;
  /** Installs the remote-sources caching proxy for uncached remote tracks (null removes it). */
  setRemoteHandler(handler: RemoteStreamHandler | null): void;
  /** `/stream/:trackId` (its own authentication), stream tokens, preferences and covers (users). */
  routes: FastifyPluginAsync;
}

export function createStreaming(d: StreamingDeps): Streaming {
  const log = d.logger.child({ area: 'streaming' });
  const repo = new StreamRepository(d.db);
  // ffmpeg is probed lazily and remembered: a server without it still streams original files.
  let ffmpegOk: boolean | null = null;
  const ffmpegAvailable = () => {
    if (ffmpegOk === null) {
      ffmpegOk = probeTool('ffmpeg', d.config.ffmpegPath).available;
      if (!ffmpegOk) log.warn({ path: d.config.ffmpegPath }, 'ffmpeg not found: transcoding is disabled');
    }
    return ffmpegOk;
  };
  const transcoder = new Transcoder(d.config.ffmpegPath, log);
  const limiter = new TranscodeLimiter(d.config.transcodeMaxConcurrent, d.config.transcodeMaxPerUser, d.limiterWaitMs);
  const transcodeCache = new DiskLru(join(d.paths.cacheDir, 'transcodes'), d.config.transcodeCacheMb * MB);
  const artworkCache = new DiskLru(join(d.paths.cacheDir, 'artwork-resized'), d.config.artworkCacheMb * MB);
  const service = new StreamService({
    repo,
    paths: d.paths,
    transcoder,
    limiter,
    transcodeCache,
    ffmpegAvailable,
    logger: log,
  });
  const artwork = new ArtworkService({ repo, cacheDir: d.paths.cacheDir, cache: artworkCache, logger: log });
  const tokens = new StreamTokens(d.serverKey, d.clock);
  let remote: RemoteStreamHandler | null = null;
  const responder: StreamResponderDeps = {
    service,
    remoteHandler: () => remote,
    idleTimeoutMs: d.idleTimeoutMs ?? d.config.streamIdleTimeoutMs ?? STREAM_IDLE_TIMEOUT_MS,
  };

  d.authenticator.use(streamTokenStrategy(tokens, (id) => repo.findActiveUser(id)));
  const preferences = new StreamPreferencesService(repo, d.clock);
  // Registered after the database (stops run in reverse), so children die before the DB closes.
  d.lifecycle.onStop('ffmpeg transcodes', () => transcoder.killAll());

  return {
    service,
    artwork,
    preferences,
    tokens,
    transcoder,
    limiter,
    transcodeCache,
    artworkCache,
    responder,
    setRemoteHandler(handler) {
      remote = handler;
    },
    routes: async (app) => {
      await app.register(accessScope('user', streamRoutes), {
        ...responder,
        preferences,
        tokens,
        publicUrl: d.config.publicUrl,
      });
      await app.register(accessScope('user', artworkRoutes), { artwork });
    },
  };
}
