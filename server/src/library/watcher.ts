/**
 * Watches the music folder (chokidar 4; inotify, or polling for network shares) and turns bursts
 * of changes into one debounced incremental scan. A change that arrives during a scan queues one
 * more scan after it. Files still being copied in are handled by the scanner's settle check; the
 * watcher rescans again once they have settled.
 */
import { type FSWatcher, watch } from 'chokidar';
import type { Logger } from '../shared/logger.js';

export interface WatcherOptions {
  musicDir: string;
  polling: boolean;
  debounceMs?: number;
  /** Polling mode: how often files are checked (default 2 s). */
  pollIntervalMs?: number;
  logger: Logger;
  /** Runs one incremental scan (resolves when done). */
  rescan: () => Promise<void>;
}

export class LibraryWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly options: WatcherOptions) {}

  /** Resolves once the initial directory listing is done (changes after that trigger scans). */
  start(): Promise<void> {
    const w = watch(this.options.musicDir, {
      ignoreInitial: true,
      usePolling: this.options.polling,
      interval: this.options.pollIntervalMs ?? 2000,
      binaryInterval: this.options.pollIntervalMs ?? 3000,
      followSymlinks: false,
      ignored: (path) => /(^|[/\\])\.[^/\\]/.test(path.slice(this.options.musicDir.length)),
    });
    this.watcher = w;
    for (const event of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) {
      w.on(event, (path: string) => {
        this.options.logger.debug({ event, path }, 'library change');
        this.schedule();
      });
    }
    w.on('error', (err) => this.options.logger.warn({ err }, 'library watcher error'));
    return new Promise((resolve) => w.once('ready', () => resolve()));
  }

  /** Debounces: a burst of events becomes one scan `debounceMs` after the last event. */
  schedule(delayMs = this.options.debounceMs ?? 1500): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.fire();
    }, delayMs);
    this.timer.unref();
  }

  private async fire(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.options
      .rescan()
      .catch((err) => this.options.logger.warn({ err }, 'watch-triggered scan failed'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
    await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.watcher?.close();
    await this.running;
  }
}
