/**
 * A ScanContext over a test server's real database and folders, for testing one scan phase at a
 * time (library/scan/*.test.ts). The run is not recorded in `scan_runs` unless a test does it.
 */
import { requireSqlite } from '../db/engine.js';
import { ArtworkStore } from '../library/artwork-store.js';
import { LibraryRepository } from '../library/library.repository.js';
import { ScanRunsRepository } from '../library/scan-runs.repository.js';
import type { ScanContext } from '../library/scan/context.js';
import { newProgress } from '../library/scan/progress.js';
import { newId } from '../shared/ids.js';
import type { TestServer } from './harness.js';

export function scanContext(
  t: TestServer,
  options: { full?: boolean; folders?: string[] | null; resumeNeeded?: boolean; signal?: AbortSignal } = {},
): ScanContext & { published: string[] } {
  const e = t.earshot;
  const published: string[] = [];
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
      database: requireSqlite(e.database, 'The scan context'),
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
    repo: new LibraryRepository(requireSqlite(e.database, 'The scan context').sqlite),
    runs: new ScanRunsRepository(requireSqlite(e.database, 'The scan context').sqlite),
    artwork: new ArtworkStore(e.paths.artworkDir, e.paths.cacheDir),
    log: e.logger,
    progress,
    signal: options.signal ?? new AbortController().signal,
    phaseMs: {},
    folders: options.folders ?? null,
    resumeNeeded: options.resumeNeeded ?? false,
    walked: { files: [], folderArt: new Map(), dirChanged: new Map(), skipped: [] },
    diff: { toRead: [], known: new Map(), missing: new Map() },
    publish: () => published.push(progress.phase),
    published,
  };
}
