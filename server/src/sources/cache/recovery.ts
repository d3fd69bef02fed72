/**
 * Start-up recovery after a crash (`kill -9` mid-download, SECURITY.md 27 and "Reliability"):
 *  - every `*.part` file under the remote-source cache folders is deleted (a part is never
 *    visible under a final name: it only gets one through fsync + rename);
 *  - every row claiming `is_cached=1` whose file is gone is reset to `is_cached=0`.
 * Runs synchronously before the server listens; the cache tree is small (one file per track).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RemoteSource } from '../providers/provider.js';
import { REMOTE_SOURCES } from '../providers/provider.js';

function removeParts(dir: string, removed: string[]): void {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) removeParts(full, removed);
    else if (e.name.endsWith('.part')) {
      rmSync(full, { force: true });
      removed.push(full);
    }
  }
}

/** Deletes leftover part files; returns their paths. */
export function removeLeftoverParts(cacheDir: string, sources: readonly RemoteSource[] = REMOTE_SOURCES): string[] {
  const removed: string[] = [];
  for (const source of sources) removeParts(join(cacheDir, source), removed);
  return removed;
}

/** Ids of rows whose cached file is missing. */
export function missingCachedFiles(cacheDir: string, rows: { id: string; local_path: string | null }[]): string[] {
  return rows.filter((r) => !r.local_path || !existsSync(join(cacheDir, r.local_path))).map((r) => r.id);
}
