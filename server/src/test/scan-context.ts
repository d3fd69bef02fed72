/**
 * A ScanContext over a test server's real database and folders, for testing one scan phase at a
 * time (library/scan/*.test.ts). The run is not recorded in `scan_runs` unless a test does it.
 */
import { ArtworkStore } from '../library/artwork-store.js';
import type { ScanContext } from '../library/scan/context.js';
import { newProgress } from '../library/scan/progress.js';
import { scanStores } from '../library/scan-store.js';
import { newId } from '../shared/ids.js';
import type { LibraryParts } from './library-server.js';

export function scanContext(
  t: { earshot: LibraryParts },
  options: { full?: boolean; folders?: string[] | null; resumeNeeded?: boolean; signal?: AbortSignal } = {},
): ScanContext & { published: string[] } {
  const e = t.earshot;
  const published: string[] = [];
  const stores = scanStores(e.database);
  const progress = newProgress({
    runId: newId(),
    kind: options.full ? 'full' : 'incremental',
    trigger: 'test',
    folders: options.folders ?? null,
    unreadableTotal: 0,
    startedAt: e.clock.now(),
  });
  return {
    options: {
      database: e.database,
      musicDir: e.paths.musicDir,
      artworkDir: e.paths.artworkDir,
      cacheDir: e.paths.cacheDir,
      separators: e.config.artistSeparators,
      workers: 1,
      logger: e.logger,
      clock: e.clock,
      events: e.events,
      settleMs: 2000,
    },
    repo: stores.library,
    runs: stores.runs,
    group: stores.group,
    artwork: new ArtworkStore(e.paths.artworkDir, e.paths.cacheDir),
    log: e.logger,
    progress,
    signal: options.signal ?? new AbortController().signal,
    phaseMs: {},
    folders: options.folders ?? null,
    resumeNeeded: options.resumeNeeded ?? false,
    walked: { files: [], folderArt: new Map(), dirChanged: new Map(), skipped: [] },
    diff: { toRead: [], known: new Map(), ids: new Map(), missing: new Map(), goneErrors: [] },
    publish: () => published.push(progress.phase),
    published,
  };
}
