/** Builds the Subsonic face from the existing services (called once by main.ts). */
import type SQLite from 'better-sqlite3';
import type { Accounts } from '../accounts/index.js';
import { BrowseRepository } from '../catalog/browse.repository.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/database.js';
import type { App } from '../http/app.js';
import type { Library } from '../library/module.js';
import { ActivityService } from '../listening/activity.service.js';
import { PlaylistsService } from '../listening/playlists.service.js';
import { QueueService } from '../listening/queue.service.js';
import type { SharesService } from '../listening/shares.service.js';
import type { EventBus } from '../shared/events.js';
import type { DataPaths } from '../shared/fs-paths.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import type { Sources } from '../sources/module.js';
import type { Streaming } from '../streaming/module.js';
import { StreamPreferencesService } from '../streaming/preferences.service.js';
import { StreamRepository } from '../streaming/stream.repository.js';
import type { SubsonicDeps } from './context.js';
import { AuthCache } from './auth.js';
import { CatalogCache } from './catalog-cache.js';
import { NowPlaying } from './now-playing.js';
import { subsonicRoutes } from './routes.js';

export interface SubsonicModuleDeps {
  app: App;
  config: Config;
  db: Db;
  /** The connection behind `db`: the catalog cache notices writes through it. */
  sqlite: SQLite.Database;
  paths: DataPaths;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  version: string;
  accounts: Accounts;
  library: Library;
  streaming: Streaming;
  shares: SharesService;
  sources?: Sources;
}

export async function createSubsonic(d: SubsonicModuleDeps): Promise<SubsonicDeps> {
  const browse = new BrowseRepository(d.db);
  const cache = new CatalogCache(browse, d.sqlite);
  const authCache = new AuthCache();
  cache.onWrite(() => authCache.clear());
  d.app.addHook('onClose', (_app, done) => {
    cache.close();
    done();
  });
  const deps: SubsonicDeps = {
    config: d.config,
    clock: d.clock,
    logger: d.logger.child({ area: 'subsonic' }),
    serverVersion: d.version,
    accounts: d.accounts,
    browse,
    cache,
    authCache,
    search: d.library.search,
    activity: new ActivityService(d.db, d.clock),
    playlists: new PlaylistsService({
      db: d.db,
      clock: d.clock,
      events: d.events,
      logger: d.logger,
      musicDir: d.paths.musicDir,
      publicUrl: d.config.publicUrl,
    }),
    queue: new QueueService(d.db, d.clock),
    shares: d.shares,
    library: d.library.service,
    streaming: d.streaming,
    preferences: new StreamPreferencesService(new StreamRepository(d.db), d.clock),
    nowPlaying: new NowPlaying(d.clock),
    remoteSearch: d.sources?.search,
    remoteTracks: d.sources?.tracks,
    thumbnails: d.sources?.thumbnails,
  };
  await d.app.register(subsonicRoutes, { deps });
  return deps;
}
