/**
 * Start-up recovery after a crash (`kill -9` mid-download; crash-recovery.test.ts):
 *  - every `*.part` file under the remote-source cache folders is deleted (a part is never
 *    visible under a final name: it only gets one through fsync + rename);
 *  - every row claiming `is_cached=1` whose file is gone is reset to `is_cached=0`.
 * Runs synchronously before the server listens; the cache tree is small (one file per track).
 *
 * Replicas share the cache folder: a part file may be another live replica's download in
 * progress. Then only parts untouched for longer than a download may last are removed (a live
 * download writes all the time and is cut at its timeout); a newer orphan is deleted by the
 * next download of its track as soon as it holds the track's lock (followed-part.ts).
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RemoteSource } from '../providers/provider.js';
import { REMOTE_SOURCES } from '../providers/provider.js';
import { forEachCacheFile } from './cache-paths.js';

/** Deletes leftover part files (only those idle since `idleSince`, when given); returns their paths. */
export function removeLeftoverParts(
  cacheDir: string,
  sources: readonly RemoteSource[] = REMOTE_SOURCES,
  options: { idleSince?: number } = {},
): string[] {
  const removed: string[] = [];
  forEachCacheFile(
    cacheDir,
    (path, entry) => {
      if (!entry.name.endsWith('.part')) return;
      if (options.idleSince !== undefined) {
        let mtime: number;
        try {
          mtime = statSync(path).mtimeMs;
        } catch {
          return; // gone already (its download finished or failed meanwhile)
        }
        if (mtime >= options.idleSince) return;
      }
      rmSync(path, { force: true });
      removed.push(path);
    },
    sources,
  );
  return removed;
}

/** Ids of rows whose cached file is missing. */
export function missingCachedFiles(cacheDir: string, rows: { id: string; local_path: string | null }[]): string[] {
  return rows.filter((r) => !r.local_path || !existsSync(join(cacheDir, r.local_path))).map((r) => r.id);
}
