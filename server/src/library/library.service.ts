/**
 * Library control: starting scans (admin API, CLI, watcher, schedule), their status and history,
 * unreadable files, and the background work (initial scan, watcher, periodic full scan).
 */
import type { Logger } from '../shared/logger.js';
import type { OverviewRepository } from './overview.repository.js';
import type { ScanRunsStore } from './scan-store.js';
import type { ScanProgress, ScanRunView, ScanSummary } from './scan/progress.js';
import type { LibraryScanner, ScanRequest } from './scanner.js';
import { LibraryWatcher } from './watcher.js';

export interface BackgroundOptions {
  scanOnStart: boolean;
  watch: boolean;
  watchPolling: boolean;
  fullScanIntervalMinutes: number;
  musicDir: string;
  debounceMs?: number;
  /** Overrides `fullScanIntervalMinutes` (tests). */
  fullScanIntervalMs?: number;
  /** Polling interval of the watcher in polling mode (default 2 s; tests use less). */
  pollIntervalMs?: number;
}

export class LibraryService {
  private watcher: LibraryWatcher | null = null;
  private interval: NodeJS.Timeout | null = null;
  private followUp: NodeJS.Timeout | null = null;
  /** The folders the running (or last) watch-triggered scan was asked to look at. */
  private watchFolders: string[] = [];

  constructor(
    private readonly deps: {
      overview: OverviewRepository;
      scanner: LibraryScanner;
      runs: ScanRunsStore;
      logger: Logger;
      settleMs: number;
    },
  ) {}

  get scanner(): LibraryScanner {
    return this.deps.scanner;
  }

  /** Starts a scan in the background; resolves once it runs; Conflict (409) when one is running. */
  async startScan(options: ScanRequest): Promise<ScanProgress> {
    const { progress, done } = await this.deps.scanner.launch(options);
    done.then((s) => this.afterScan(s, options.trigger)).catch((err) => this.deps.logger.error({ err }, 'scan failed'));
    return this.deps.scanner.progress ?? progress;
  }

  /**
   * Runs a scan and waits for its summary (tests, the watcher). `folders` limits it to those
   * folders, relative to the music folder (the directory watcher passes the ones that changed).
   */
  async runScan(options: ScanRequest): Promise<ScanSummary> {
    const summary = await this.deps.scanner.start(options);
    this.afterScan(summary, options.trigger);
    return summary;
  }

  /** Scan status for admins: the running scan, the last finished run, files that cannot be read. */
  async status(): Promise<{
    running: boolean;
    progress: ScanProgress | null;
    lastRun: ScanRunView | null;
    unreadable: number;
  }> {
    const [lastRun, unreadable] = [await this.deps.runs.lastFinished(), await this.deps.scanner.unreadableTotal()];
    return {
      running: this.deps.scanner.running,
      progress: this.deps.scanner.progress,
      lastRun,
      unreadable,
    };
  }

  /** What any signed-in user may know about the local library: how many tracks, how many files were rejected. */
  async overview(): Promise<{ tracks: number; unreadable: number; scanning: boolean }> {
    return {
      tracks: await this.deps.overview.localTrackCount(),
      unreadable: await this.deps.scanner.unreadableTotal(),
      scanning: this.deps.scanner.running,
    };
  }

  async errors(page: { limit: number; offset: number }) {
    const { items, total } = await this.deps.overview.scanErrors(page);
    return {
      items: items.map((e) => ({
        path: e.local_path,
        reason: e.reason,
        size: e.size,
        mtime: e.mtime,
        seenAt: e.seen_at,
      })),
      total,
      ...page,
    };
  }

  /** Initial scan, watcher and periodic full scans (only when the server runs with background work). */
  async startBackground(options: BackgroundOptions): Promise<void> {
    if (options.watch) {
      this.watcher = new LibraryWatcher({
        musicDir: options.musicDir,
        polling: options.watchPolling,
        debounceMs: options.debounceMs,
        pollIntervalMs: options.pollIntervalMs,
        logger: this.deps.logger.child({ area: 'library' }),
        rescan: (folders) => {
          this.watchFolders = folders;
          this.deps.logger.debug({ folders: folders.length }, 'folders changed');
          // Only the folders that changed are walked and compared (a folder scope covers the
          // folders below it too; '' is the music folder itself, i.e. the whole library).
          return this.scanWhenIdle('watch', false, folders);
        },
      });
      await this.watcher.start();
    }
    const everyMs = options.fullScanIntervalMs ?? options.fullScanIntervalMinutes * 60_000;
    if (everyMs > 0) {
      this.interval = setInterval(() => void this.scanWhenIdle('schedule', true), everyMs);
      this.interval.unref();
    }
    if (options.scanOnStart) void this.scanWhenIdle('start');
  }

  async stopBackground(): Promise<void> {
    if (this.interval) clearInterval(this.interval);
    if (this.followUp) clearTimeout(this.followUp);
    await this.watcher?.stop();
    await this.deps.scanner.stop();
  }

  private async scanWhenIdle(trigger: string, full = false, folders?: string[]): Promise<void> {
    await this.deps.scanner.idle();
    if (folders) {
      // A scan someone else started meanwhile may cover other folders only: wait it out, then
      // look at ours (cheap: only these folders are walked).
      while (this.deps.scanner.running) await this.deps.scanner.idle();
    } else if (this.deps.scanner.running) return; // someone else started one meanwhile; it covers our change
    await this.runScan({ full, trigger, folders }).catch((err) =>
      this.deps.logger.warn({ err, trigger }, 'scan failed'),
    );
  }

  /**
   * Files skipped because they were still being written get another scan once they settle: the
   * same folders when a watch-triggered scan deferred them, else the whole library.
   */
  private afterScan(summary: ScanSummary, trigger: string | undefined): void {
    if (summary.deferred > 0 && this.watcher) {
      if (this.followUp) clearTimeout(this.followUp);
      const folders = this.watchFolders;
      this.followUp = setTimeout(() => {
        if (trigger === 'watch') this.watcher?.schedule(0, folders);
        else void this.scanWhenIdle('watch');
      }, this.deps.settleMs + 100);
      this.followUp.unref();
    }
  }
}
