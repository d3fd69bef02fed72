/**
 * Builds the library + catalog areas from the composition root: scanner, library service
 * (watcher, schedule), catalog browsing and search, their routes and shutdown hooks.
 */
import type { Config } from '../config/schema.js';
import type { OpenedDatabase } from '../db/database.js';
import type { App } from '../http/app.js';
import { catalogRoutes } from '../catalog/catalog.routes.js';
import { CatalogRepository } from '../catalog/catalog.repository.js';
import { CatalogService } from '../catalog/catalog.service.js';
import { LikedFlagsRepository } from '../listening/liked-flags.repository.js';
import { CatalogSearch } from '../catalog/search.js';
import { accessScope } from '../http/access.js';
import type { EventBus } from '../shared/events.js';
import type { DataPaths } from '../shared/fs-paths.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { LibraryService } from './library.service.js';
import { scanRoutes } from './scan.routes.js';
import { ScanRunsRepository } from './scan-runs.repository.js';
import { createScanner, SETTLE_MS } from './scan/factory.js';
import type { LibraryScanner } from './scanner.js';

export { SETTLE_MS } from './scan/factory.js';

export interface LibraryDeps {
  app: App;
  config: Config;
  database: OpenedDatabase;
  paths: DataPaths;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  lifecycle: Lifecycle;
  background: boolean;
}

export interface Library {
  service: LibraryService;
  scanner: LibraryScanner;
  catalog: CatalogService;
  search: CatalogSearch;
}

export async function createLibrary(deps: LibraryDeps): Promise<Library> {
  const { config, database, paths, clock, logger, events, lifecycle } = deps;
  const scanner = createScanner({ config, database, paths, clock, logger, events });
  const runs = new ScanRunsRepository(database.sqlite);
  const service = new LibraryService({ db: database.db, scanner, runs, logger, settleMs: SETTLE_MS });
  const catalog = new CatalogService(new CatalogRepository(database.db), new LikedFlagsRepository(database.db));
  const search = new CatalogSearch({ db: database.db, sqlite: database.sqlite });
  lifecycle.onStop('library', () => service.stopBackground());
  await deps.app.register(accessScope('user', catalogRoutes), { catalog, search });
  await deps.app.register(accessScope('admin', scanRoutes), { library: service });
  if (deps.background) {
    deps.app.addHook('onReady', async () => {
      // Not awaited: listing a big library's folders for the watcher must not hold up start-up
      // (Fastify gives onReady hooks 10 s; a phone with 50,000 files under load can need more).
      service
        .startBackground({
          scanOnStart: config.scanOnStart,
          watch: config.watch,
          watchPolling: config.watchPolling,
          fullScanIntervalMinutes: config.fullScanIntervalMinutes,
          musicDir: paths.musicDir,
        })
        .catch((err) => logger.error({ err }, 'library background work failed to start'));
    });
  }
  return { service, scanner, catalog, search };
}
