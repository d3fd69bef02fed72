/**
 * Watches the music folder — one inotify watch per folder, or a polling walk for network shares
 * (folder-watch.ts) — and turns bursts of changes into one debounced rescan of the folders that
 * changed. A change that arrives during a scan queues one more scan after it. Files still being
 * copied in are handled by the scanner's settle check; the library service asks for another scan
 * once they have settled.
 */
import { realpathSync } from 'node:fs';
import type { Logger } from '../shared/logger.js';
import { type FolderSource, InotifyFolders, PollingFolders } from './folder-watch.js';

export interface WatcherOptions {
  musicDir: string;
  polling: boolean;
  debounceMs?: number;
  /** Polling mode: how long between the end of one walk and the start of the next (default 2 s). */
  pollIntervalMs?: number;
  logger: Logger;
  /**
   * Rescans after a burst of changes (resolves when done). `folders`: the folders whose entries
   * changed, were added or were removed, relative to the music folder ('' = its root), each
   * meaning the files directly in it.
   */
  rescan: (folders: string[]) => Promise<void>;
}

export class LibraryWatcher {
  private source: FolderSource | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly pending = new Set<string>();
  private again = false;
  private stopped = false;

  constructor(private readonly options: WatcherOptions) {}

  /** Resolves once the initial directory listing is done (changes after that trigger scans). */
  async start(): Promise<void> {
    const { logger } = this.options;
    let root: string;
    try {
      root = realpathSync(this.options.musicDir);
    } catch (err) {
      logger.warn({ err, musicDir: this.options.musicDir }, 'music folder missing: not watched');
      return;
    }
    const sourceOptions = {
      root,
      changed: (folder: string) => this.changed(folder),
      warn: (err: unknown, message: string) => logger.debug({ err }, message),
    };
    const polling = () => new PollingFolders({ ...sourceOptions, intervalMs: this.options.pollIntervalMs ?? 2000 });
    const started = performance.now();
    if (this.options.polling) {
      this.source = polling();
      await this.source.start();
      logger.info({ ms: Math.round(performance.now() - started) }, 'watching the music folder (polling)');
      return;
    }
    const inotify = new InotifyFolders(sourceOptions);
    this.source = inotify;
    try {
      await inotify.start();
      logger.info({ folders: inotify.size, ms: Math.round(performance.now() - started) }, 'watching the music folder');
    } catch (err) {
      // Out of inotify watches (fs.inotify.max_user_watches) or file descriptors: poll instead.
      inotify.close();
      logger.warn(
        { err },
        'cannot watch every folder (raise fs.inotify.max_user_watches); polling the music folder instead',
      );
      this.source = polling();
      await this.source.start();
    }
  }

  private changed(folder: string): void {
    this.options.logger.debug({ folder }, 'library change');
    this.pending.add(folder);
    this.schedule();
  }

  /**
   * Debounces: a burst of events becomes one scan `debounceMs` after the last event. `folders`
   * adds folders to the next scan (the service re-checks the folders of files that were still
   * being written).
   */
  schedule(delayMs = this.options.debounceMs ?? 1500, folders: Iterable<string> = []): void {
    if (this.stopped) return;
    for (const f of folders) this.pending.add(f);
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
    const folders = [...this.pending];
    this.pending.clear();
    this.running = this.options
      .rescan(folders)
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
    this.source?.close();
    await this.running;
  }
}
