/** Test helpers for the library's background work (watcher, polling, periodic scans). */
import type { LibraryParts } from './library-server.js';

/** The track row at a path relative to the music folder, if any. */
export function trackByPath(t: { earshot: LibraryParts }, path: string) {
  return t.earshot.database.db.selectFrom('tracks').selectAll().where('local_path', '=', path).executeTakeFirst();
}

/**
 * Resolves once a finished scan (`library.scanned`) leaves the catalog in the expected state —
 * `check` runs after every scan — and rejects with `what` when none has within `timeoutMs`.
 */
export function afterScansUntil(
  t: { earshot: LibraryParts },
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`condition not reached after ${what}`));
    }, timeoutMs);
    const off = t.earshot.events.on('library.scanned', () => {
      void check().then((ok) => {
        if (ok) {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    });
  });
}
