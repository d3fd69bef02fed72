/**
 * Builds the remote-sources area from the composition root: the egress proxy and yt-dlp runner,
 * the enabled providers, the caching proxy (installed into streaming), federated search, offline
 * jobs and the routes plugin. main.ts calls {@link createSources} once.
 */
import type { LikedFlags } from '../catalog/liked.js';
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/database.js';
import { accessScope } from '../http/access.js';
import type { EventBus } from '../shared/events.js';
import type { DataPaths } from '../shared/fs-paths.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { CachingProxy } from './cache/caching-proxy.js';
import { DownloadHub } from './cache/download-hub.js';
import { missingCachedFiles, removeLeftoverParts } from './cache/recovery.js';
import { isPostgres, type TrackLocks } from '../cluster/index.js';
import { JobRunner } from './jobs/job-runner.js';
import { JobsRepository } from './jobs/jobs.repository.js';
import { OfflineRepository } from './jobs/offline.repository.js';
import { CACHE_TRACK_JOB, OfflineService } from './jobs/offline.service.js';
import { type AddressPolicy, type LookupFn, loopbackAllowanceFromEnv } from './net/address-policy.js';
import { EgressProxy } from './net/egress-proxy.js';
import type { RemoteProvider } from './providers/provider.js';
import { ProviderRegistry } from './providers/registry.js';
import { SoundCloudProvider } from './providers/soundcloud.provider.js';
import { UrlProvider } from './providers/url.provider.js';
import { YouTubeProvider } from './providers/youtube.provider.js';
import { RemoteTracksRepository } from './remote-tracks.repository.js';
import { RemoteTracksService } from './remote-tracks.service.js';
import { FederatedSearchService } from './search/federated-search.service.js';
import type { LocalSearchProvider } from './search/local-search.js';
import { RecentResults } from './search/recent-results.js';
import { sourcesRoutes } from './sources.routes.js';
import { ThumbnailProxy, thumbnailRoutes } from './thumbnail-proxy.js';
import { YtDlpRunner } from './ytdlp/runner.js';

const MB = 1024 * 1024;

/** Limits of one remote download (cap size and time: the download limits in SECURITY.md). */
export const DOWNLOAD_LIMITS = {
  maxBytes: 300 * MB,
  timeoutMs: 20 * 60_000,
  /** A browser often drops a request and reopens it with a Range: keep the download that long. */
  idleGraceMs: 5_000,
  maxListenerDownloads: 6,
  maxDownloadsPerUser: 2,
};

export interface SourcesDeps {
  config: Config;
  db: Db;
  paths: DataPaths;
  events: EventBus;
  clock: Clock;
  logger: Logger;
  lifecycle: Lifecycle;
  local: LocalSearchProvider;
  /** The caller's likes on the tracks in responses (implemented by the listening area). */
  liked: LikedFlags;
  /**
   * Test-only: let sources reach loopback (all ports, or a set). Defaults to the explicit
   * environment switch `EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES`; never on otherwise.
   */
  allowLoopback?: AddressPolicy['allowLoopback'];
  lookup?: LookupFn;
  /** One download per remote track across replicas (cluster.trackLocks; default in-process). */
  trackLocks?: TrackLocks;
  /** Test hooks. */
  idleGraceMs?: number;
  backoffBaseMs?: number;
}

export interface Sources {
  registry: ProviderRegistry;
  runner: YtDlpRunner;
  proxy: EgressProxy;
  hub: DownloadHub;
  cachingProxy: CachingProxy;
  tracks: RemoteTracksService;
  search: FederatedSearchService;
  offline: OfflineService;
  jobs: JobsRepository;
  jobRunner: JobRunner;
  policy: AddressPolicy;
  /** `GET /api/v1/remote/thumbnail`: search-hit images fetched, checked and resized by the server. */
  thumbnails: ThumbnailProxy;
  /** Crash recovery summary from start-up. */
  recovered: { partsRemoved: number; rowsReset: number };
  /** Federated search, remote tracks and offline status (users); cache and jobs (admins, per route). */
  routes: FastifyPluginAsync;
}

export async function createSources(d: SourcesDeps): Promise<Sources> {
  const log = d.logger.child({ area: 'sources' });
  const allowLoopback = d.allowLoopback ?? loopbackAllowanceFromEnv(process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES);
  if (allowLoopback !== false)
    log.warn('EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES is set: remote sources may reach loopback addresses (tests only)');
  const policy: AddressPolicy = { allowLoopback };

  const repo = new RemoteTracksRepository(d.db);

  // Crash recovery before anything can start a download (crash-recovery.test.ts). Replicas
  // (PostgreSQL) share the cache: another replica's download in progress keeps its part file.
  const replicas = isPostgres(d.db);
  const partsRemoved = removeLeftoverParts(
    d.paths.cacheDir,
    undefined,
    replicas ? { idleSince: d.clock.now() - DOWNLOAD_LIMITS.timeoutMs } : {},
  ).length;
  const missing = missingCachedFiles(d.paths.cacheDir, await repo.cachedRemoteRows());
  for (const id of missing) await repo.resetCache(id, d.clock.now());
  if (partsRemoved || missing.length)
    log.warn({ partsRemoved, rowsReset: missing.length }, 'cleaned up after an interrupted download');

  const proxy = new EgressProxy(log, d.lookup);
  const runner = new YtDlpRunner({
    path: d.config.ytDlpPath,
    proxy,
    policy,
    logger: log,
    maxBytes: DOWNLOAD_LIMITS.maxBytes,
  });
  const timeoutMs = Math.max(d.config.providerTimeoutMs, 15_000);
  // Disabled providers are not constructed at all.
  const providers: RemoteProvider[] = [];
  if (d.config.sourcesYoutube) providers.push(new YouTubeProvider(runner, timeoutMs));
  if (d.config.sourcesSoundcloud) providers.push(new SoundCloudProvider(runner, timeoutMs));
  if (d.config.sourcesUrl) providers.push(new UrlProvider(runner, policy, timeoutMs, d.lookup));
  const registry = new ProviderRegistry(providers, {
    youtube: d.config.sourcesYoutube,
    soundcloud: d.config.sourcesSoundcloud,
    url: d.config.sourcesUrl,
  });

  const hub = new DownloadHub({
    cacheDir: d.paths.cacheDir,
    runner,
    registry,
    repo,
    events: d.events,
    clock: d.clock,
    logger: log,
    policy,
    lookup: d.lookup,
    maxBytes: DOWNLOAD_LIMITS.maxBytes,
    timeoutMs: DOWNLOAD_LIMITS.timeoutMs,
    idleGraceMs: d.idleGraceMs ?? DOWNLOAD_LIMITS.idleGraceMs,
    maxListenerDownloads: DOWNLOAD_LIMITS.maxListenerDownloads,
    maxDownloadsPerUser: DOWNLOAD_LIMITS.maxDownloadsPerUser,
    trackLocks: d.trackLocks,
  });
  const recent = new RecentResults();
  const tracks = new RemoteTracksService({
    liked: d.liked,
    repo,
    registry,
    hub,
    recent,
    cacheDir: d.paths.cacheDir,
    clock: d.clock,
    logger: log,
  });
  const search = new FederatedSearchService({
    liked: d.liked,
    local: d.local,
    registry,
    repo,
    recent,
    timeoutMs: d.config.providerTimeoutMs,
    mayPlayUrls: (user) => tracks.mayPlayUrls(user),
    logger: log,
  });
  const jobs = new JobsRepository(d.db);
  const jobRunner = new JobRunner({
    repo: jobs,
    clock: d.clock,
    logger: log,
    concurrency: d.config.cacheJobsConcurrency,
    backoffBaseMs: d.backoffBaseMs,
  });
  const offline = new OfflineService({
    repo: new OfflineRepository(d.db),
    jobs,
    runner: jobRunner,
    hub,
    tracks: repo,
    clock: d.clock,
    logger: log,
  });
  jobRunner.register(CACHE_TRACK_JOB, offline.cacheTrack);
  d.events.on('playlist.offlineChanged', (e) => offline.onOfflineChanged(e));
  d.events.on('playlist.tracksAdded', (e) => offline.onTracksAdded(e));

  const sources: Sources = {
    registry,
    runner,
    proxy,
    hub,
    cachingProxy: new CachingProxy(hub, repo, d.paths.cacheDir),
    tracks,
    search,
    offline,
    jobs,
    jobRunner,
    policy,
    thumbnails: new ThumbnailProxy({ cacheDir: d.paths.cacheDir, policy, lookup: d.lookup, logger: log }),
    recovered: { partsRemoved, rowsReset: missing.length },
    routes: async (app) => {
      await app.register(accessScope('user', sourcesRoutes), { sources });
      await app.register(accessScope('user', thumbnailRoutes), { thumbnails: sources.thumbnails });
    },
  };

  // Stops run in reverse: jobs first, then downloads, then the proxy.
  d.lifecycle.onStop('remote egress proxy', () => proxy.close());
  d.lifecycle.onStop('remote downloads', async () => {
    await hub.stop();
    runner.killAll();
  });
  d.lifecycle.onStop('cache jobs', () => jobRunner.stop());
  return sources;
}

/** Starts background work (main.ts does when `background` is true; tests call it themselves). */
export async function startSourcesBackground(sources: Sources): Promise<void> {
  await sources.jobRunner.start();
  await sources.offline.reconcile();
}
