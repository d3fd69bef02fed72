/** Builds the Subsonic face over the other areas' services (called once by main.ts). */
import type { AnyDatabase } from '../db/engine.js';
import { PgWriteWatch, WriteWatch } from '../db/write-watch.js';
import type { FastifyPluginAsync } from 'fastify';
import type { Accounts } from '../accounts/index.js';
import type { Catalog } from '../catalog/module.js';
import type { Config } from '../config/schema.js';
import { accessScope } from '../http/access.js';
import type { Library } from '../library/module.js';
import type { Listening } from '../listening/module.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import type { Sources } from '../sources/module.js';
import type { Streaming } from '../streaming/module.js';
import { AuthCache } from './auth.js';
import { CatalogCache } from './catalog-cache.js';
import type { SubsonicDeps } from './context.js';
import { NowPlaying } from './now-playing.js';
import { subsonicRoutes } from './routes.js';

export interface SubsonicModuleDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  version: string;
  /** The database: the catalog cache notices writes through its connection. */
  database: AnyDatabase;
  accounts: Accounts;
  library: Library;
  catalog: Catalog;
  listening: Listening;
  streaming: Streaming;
  sources?: Sources;
}

export interface Subsonic {
  deps: SubsonicDeps;
  /** `/rest/*`: every method authenticates itself (Subsonic credentials), hence access `self`. */
  routes: FastifyPluginAsync;
}

export function createSubsonic(d: SubsonicModuleDeps): Subsonic {
  const writes = d.database.engine === 'postgres' ? new PgWriteWatch(d.database.db) : new WriteWatch(d.database.sqlite);
  const cache = new CatalogCache(d.catalog.browse, writes);
  const authCache = new AuthCache();
  // Any write may revoke a key or disable a user: remembered credentials go with the catalog cache.
  cache.onWrite(() => authCache.clear());
  // …and a revocation made in this process at once (PostgreSQL's write watch is a 250 ms poll).
  d.accounts.subsonic.onRevoke(() => authCache.clear());
  const deps: SubsonicDeps = {
    config: d.config,
    clock: d.clock,
    logger: d.logger.child({ area: 'subsonic' }),
    serverVersion: d.version,
    accounts: d.accounts,
    browse: d.catalog.browse,
    cache,
    authCache,
    search: d.catalog.search,
    activity: d.listening.activity,
    playlists: d.listening.playlists,
    queue: d.listening.queue,
    shares: d.listening.shares,
    library: d.library.service,
    streaming: d.streaming,
    preferences: d.streaming.preferences,
    nowPlaying: new NowPlaying(d.clock),
    remoteSearch: d.sources?.search,
    remoteTracks: d.sources?.tracks,
    thumbnails: d.sources?.thumbnails,
  };
  return {
    deps,
    routes: async (app) => {
      app.addHook('onClose', (_app, done) => {
        cache.close();
        done();
      });
      await app.register(accessScope('self', subsonicRoutes), { deps });
    },
  };
}
