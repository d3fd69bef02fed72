/**
 * The one way to build a library scanner from the configuration: the server (library/module.ts)
 * and `earshot scan` both use it, with the same event bus wiring (see domain-events.ts), so a scan
 * started from either behaves the same, down to the other areas' reactions to removed tracks.
 */
import type { Config } from '../../config/schema.js';
import type { AnyDatabase } from '../../db/engine.js';
import type { EventBus } from '../../shared/events.js';
import type { DataPaths } from '../../shared/fs-paths.js';
import type { Logger } from '../../shared/logger.js';
import type { Clock } from '../../shared/time.js';
import { LibraryScanner } from '../scanner.js';

/** Files younger than this are still being copied in; the scanner reads them on a later pass. */
export const SETTLE_MS = 2000;

export interface ScannerDeps {
  config: Pick<Config, 'artistSeparators' | 'scanWorkers'>;
  database: AnyDatabase;
  paths: Pick<DataPaths, 'musicDir' | 'artworkDir' | 'cacheDir'>;
  clock: Clock;
  logger: Logger;
  events: EventBus;
}

export function createScanner(deps: ScannerDeps): LibraryScanner {
  const { config, database, paths, clock, logger, events } = deps;
  return new LibraryScanner({
    database,
    musicDir: paths.musicDir,
    artworkDir: paths.artworkDir,
    cacheDir: paths.cacheDir,
    separators: config.artistSeparators,
    workers: config.scanWorkers,
    logger,
    clock,
    events,
    settleMs: SETTLE_MS,
  });
}
