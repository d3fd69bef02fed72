/**
 * Builds the library area: scanner, library service (watcher, schedule), scan control routes and
 * shutdown hooks. main.ts calls {@link createLibrary} once; `earshot scan` builds its scanner with
 * the same factory (scan/factory.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config/schema.js';
import type { AnyDatabase } from '../db/engine.js';
import { accessScope } from '../http/access.js';
import type { EventBus } from '../shared/events.js';
import type { DataPaths } from '../shared/fs-paths.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { LibraryService } from './library.service.js';
import { OverviewRepository } from './overview.repository.js';
import { scanRoutes } from './scan.routes.js';
import { createScanner, SETTLE_MS } from './scan/factory.js';
import { scanStores } from './scan-store.js';
import type { LibraryScanner } from './scanner.js';

export { SETTLE_MS } from './scan/factory.js';

export interface LibraryDeps {
  config: Config;
  database: AnyDatabase;
  paths: DataPaths;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  lifecycle: Lifecycle;
}

export interface Library {
  service: LibraryService;
  scanner: LibraryScanner;
  /** Scan control (admins) and the library overview (users). */
  routes: FastifyPluginAsync;
  /** Starts the background work: scan on start, watcher, scheduled full scans. Returns at once. */
  /** `catchUp`: scan once the watcher is up even when scans on start are off (a new leader). */
  startBackground(options?: { catchUp?: boolean }): void;
}

export function createLibrary(deps: LibraryDeps): Library {
  const { config, paths, clock, logger, events, lifecycle } = deps;
  const { database } = deps;
  const scanner = createScanner({ config, database, paths, clock, logger, events });
  const { runs } = scanStores(database);
  const service = new LibraryService({
    overview: new OverviewRepository(database.db),
    scanner,
    runs,
    logger,
    settleMs: SETTLE_MS,
  });
  lifecycle.onStop('library', () => service.stopBackground());
  return {
    service,
    scanner,
    routes: async (app) => {
      await app.register(accessScope('admin', scanRoutes), { library: service });
    },
    startBackground(options = {}) {
      // Not awaited: listing a big library's folders for the watcher must not hold up start-up
      // (Fastify gives onReady hooks 10 s; a phone with 50,000 files under load can need more).
      service
        .startBackground({
          scanOnStart: config.scanOnStart || options.catchUp === true,
          watch: config.watch,
          watchPolling: config.watchPolling,
          fullScanIntervalMinutes: config.fullScanIntervalMinutes,
          musicDir: paths.musicDir,
        })
        .catch((err) => logger.error({ err }, 'library background work failed to start'));
    },
  };
}
