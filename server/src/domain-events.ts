/**
 * The domain event bus and the reactions that need no HTTP server, wired once for every process
 * that changes the catalog: the server (main.ts) and the CLI (`earshot scan`). Tracks a scan
 * removes lose their likes and per-user counters wherever the scan ran.
 */
import { type OpenedDatabase, releaseMemory } from './db/database.js';
import type { AnyDatabase } from './db/engine.js';
import { createActivityService } from './listening/module.js';
import { EventBus } from './shared/events.js';
import { createQuietCollector } from './shared/heap.js';
import type { Logger } from './shared/logger.js';
import type { Clock } from './shared/time.js';

/** How long after the last scan the heap is collected: past a burst of watcher rescans. */
const QUIET_GC_DELAY_MS = 3_000;

export interface DomainEvents {
  events: EventBus;
  /** Resolves once the reactions started so far have finished (before the database closes). */
  settled(): Promise<void>;
}

export function createDomainEvents(deps: {
  database: OpenedDatabase | AnyDatabase;
  clock: Clock;
  logger: Logger;
}): DomainEvents {
  const { database, clock, logger } = deps;
  const events = new EventBus();
  events.onError((err) => logger.error({ err }, 'event listener failed'));
  const pending = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };
  const activity = createActivityService(database.db, clock);
  events.on('library.tracksRemoved', ({ trackIds }) => {
    track(
      activity
        .forgetTracks(trackIds)
        .catch((err) => logger.error({ err, area: 'listening' }, 'could not drop activity of removed tracks')),
    );
  });
  // A scan leaves SQLite's page cache full: hand it back so the idle server stays small.
  // SQLite's page cache is ours to trim; PostgreSQL manages its own memory.
  const { sqlite } = database;
  if (sqlite) events.on('library.scanned', () => releaseMemory(sqlite));
  // And the scan's garbage in V8's heap, once no scan has finished for a few seconds (shared/heap.ts).
  const quiet = createQuietCollector(QUIET_GC_DELAY_MS);
  events.on('library.scanned', () => quiet.schedule());
  return {
    events,
    async settled() {
      while (pending.size > 0) await Promise.all(pending);
    },
  };
}
