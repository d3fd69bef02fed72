/**
 * The library scanner: starts, stops and reports scan runs; the work itself is the phases in
 * `scan/` (walk → diff → read → prune → group → gc, see README.md) run over one ScanContext by
 * `scan/runner.ts`. Progress goes to listeners (SSE, CLI progress bar) and to `scan_runs`.
 *
 * Idempotent and resumable: every batch is one transaction, the diff is by (path, size, mtime), so
 * a scan killed half-way leaves a consistent DB and the next scan only does what is left. A run
 * left 'running' by a dead process is marked 'interrupted', which forces the group phase.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { posix } from 'node:path';
import { Conflict, Invalid } from '../shared/errors.js';
import { telemetry } from '../shared/telemetry.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { ArtworkStore } from './artwork-store.js';
import { type GroupStore, type LibraryStore, type ScanRunsStore, scanStores } from './scan-store.js';
import type { ScanContext, ScannerOptions } from './scan/context.js';
import { newProgress, type ScanProgress, type ScanSummary } from './scan/progress.js';
import { runPhases } from './scan/runner.js';

export type { ScannerOptions } from './scan/context.js';
export type { ScanProgress, ScanSummary } from './scan/progress.js';

export interface ScanRequest {
  /** Re-read every file, not only new and changed ones. */
  full?: boolean;
  trigger?: string;
  /**
   * Only these folders (relative to the music folder, e.g. from the directory watcher): walked
   * and compared with the tracks inside them; the rest of the library is left alone.
   */
  folders?: string[];
}

/** Progress events at most this often (the phase changes and the final summary always go out). */
const PUBLISH_EVERY_MS = 200;
/**
 * The connection's page cache during a scan (LibraryRepository.limitPageCache; 16 MB otherwise).
 * The batch writes' working set (B-tree pages of `tracks`, its indexes, the FTS tables) fits in
 * 8 MB: at 4 MB each write re-read pages from the OS, 0.045 ms more CPU per track written
 * (0.22 against 0.18 ms, `bench/scan-write.ts`); 8 MB wrote as fast as 16 (bench/README.md,
 * "Full-scan regression").
 */
const SCAN_PAGE_CACHE_KIB = 8192;
/**
 * WAL pages between checkpoints during a scan (LibraryRepository.spaceCheckpoints; SQLite's
 * default is 1,000): the WAL file grows to ~32 MB instead of ~4 MB while a scan writes.
 */
const SCAN_CHECKPOINT_PAGES = 8000;

export class LibraryScanner {
  private readonly repo: LibraryStore;
  private readonly runs: ScanRunsStore;
  private readonly group: GroupStore;
  private readonly artwork: ArtworkStore;
  private readonly emitter = new EventEmitter();
  private current: { promise: Promise<ScanSummary>; progress: ScanProgress; abort: AbortController } | null = null;
  /** A start is checking the database (other processes' runs) before it runs. */
  private starting = false;
  private saving: Promise<void> = Promise.resolve();
  /** Settles once the runs dead processes left 'running' are marked interrupted (start-up). */
  readonly recovered: Promise<void>;
  private savePending = false;
  private readonly log: Logger;
  private lastPublish = 0;

  constructor(private readonly options: ScannerOptions) {
    const stores = scanStores(options.database);
    this.repo = stores.library;
    this.runs = stores.runs;
    this.group = stores.group;
    this.artwork = new ArtworkStore(options.artworkDir, options.cacheDir);
    this.log = options.logger.child({ area: 'library' });
    this.emitter.setMaxListeners(100);
    // Runs a dead process left 'running' show as interrupted from start-up on (status, history),
    // not only once the next scan starts. Synchronous work on SQLite; a few queries on PostgreSQL.
    this.recovered = this.markInterrupted().catch((err: unknown) =>
      this.log.warn({ err }, 'could not mark interrupted scan runs'),
    );
  }

  /**
   * Runs left 'running' by a process that is gone are interrupted (the next scan regroups). On
   * SQLite the owner's `host:pid` tells; on PostgreSQL (several machines) the scan lock does: when
   * nobody holds it, nobody is scanning.
   */
  private async markInterrupted(): Promise<void> {
    const running = await this.runs.running();
    if (running.length === 0) return;
    const lockHeld = this.runs.scanLockHeld ? await this.runs.scanLockHeld() : undefined;
    for (const run of running) {
      if (lockHeld ?? (run.owner && ownerAlive(run.owner))) continue;
      await this.runs.markInterrupted(run.id, this.options.clock.now());
    }
  }

  get running(): boolean {
    return this.current !== null;
  }

  get progress(): ScanProgress | null {
    return this.current
      ? { ...this.current.progress, elapsedMs: this.options.clock.now() - this.current.progress.startedAt }
      : null;
  }

  /** Files that cannot be read now (recorded by this and earlier scans). */
  async unreadableTotal(): Promise<number> {
    return this.repo.unreadableCount();
  }

  /** Listens to progress (throttled) and to the final summary. Returns an unsubscribe function. */
  onProgress(listener: (p: ScanProgress | ScanSummary, final: boolean) => void): () => void {
    const fn = (p: ScanProgress | ScanSummary, final: boolean) => listener(p, final);
    this.emitter.on('progress', fn);
    return () => this.emitter.off('progress', fn);
  }

  /** Runs a scan and resolves with its summary; rejects with Conflict or Invalid when it cannot start. */
  async start(request: ScanRequest = {}): Promise<ScanSummary> {
    return (await this.launch(request)).done;
  }

  /**
   * Starts a scan and resolves once it runs (with its progress and the promise of its summary);
   * rejects with Conflict when one is running here or in another process, Invalid for a bad folder.
   */
  async launch(request: ScanRequest = {}): Promise<{ progress: ScanProgress; done: Promise<ScanSummary> }> {
    if (this.current || this.starting) throw new Conflict('A library scan is already running.');
    const folders = request.folders ? normalizeFolders(request.folders) : null;
    this.starting = true;
    let claimed = false;
    try {
      await this.markInterrupted();
      const other = await this.runs.runningElsewhere(OWNER);
      if (other) throw new Conflict(`A library scan is already running in another process (${other}).`);
      if (this.runs.claim) {
        claimed = await this.runs.claim();
        if (!claimed) throw new Conflict('A library scan is already running in another process.');
      }
      const progress = newProgress({
        runId: newId(),
        kind: request.full ? 'full' : 'incremental',
        trigger: request.trigger ?? 'manual',
        folders,
        unreadableTotal: await this.repo.unreadableCount(),
        startedAt: this.options.clock.now(),
      });
      const abort = new AbortController();
      const done = this.run(progress, folders, abort.signal).finally(async () => {
        try {
          await this.runs.release?.();
        } finally {
          this.current = null;
        }
      });
      this.current = { promise: done, progress, abort };
      claimed = false; // the run releases it
      return { progress, done };
    } finally {
      this.starting = false;
      if (claimed) await this.runs.release?.();
    }
  }

  /** Waits for the running scan (if any). */
  async idle(): Promise<void> {
    await this.current?.promise.catch(() => undefined);
  }

  /** Stops a running scan at the next batch or phase boundary (the DB stays consistent). */
  async stop(): Promise<void> {
    if (!this.current) return;
    this.current.abort.abort(new Error('scan stopped'));
    await this.current.promise.catch(() => undefined);
  }

  private publish(p: ScanProgress, force: boolean): void {
    const now = this.options.clock.now();
    if (!force && now - this.lastPublish < PUBLISH_EVERY_MS) return;
    this.lastPublish = now;
    p.elapsedMs = now - p.startedAt;
    this.saveProgress(p);
    this.emitter.emit('progress', { ...p }, false);
  }

  /**
   * Saves progress in the background: a PostgreSQL round trip must not hold the batch chain. One
   * save at a time (a later one would otherwise race an earlier one), and a save still waiting
   * covers the calls behind it, since it reads the progress when it runs. run() waits for the
   * chain before it writes the summary.
   */
  private saveProgress(p: ScanProgress): void {
    if (this.savePending) return;
    this.savePending = true;
    this.saving = this.saving
      .then(() => {
        this.savePending = false;
        return this.runs.saveProgress(p);
      })
      .catch((err: unknown) => this.log.warn({ err }, 'could not save scan progress'));
  }

  private async run(p: ScanProgress, folders: string[] | null, signal: AbortSignal): Promise<ScanSummary> {
    const previous = await this.runs.latestState();
    await this.runs.start(p, OWNER);
    this.log.info({ runId: p.runId, kind: p.kind, trigger: p.trigger, folders }, 'library scan started');
    const ctx: ScanContext = {
      options: this.options,
      repo: this.repo,
      runs: this.runs,
      group: this.group,
      artwork: this.artwork,
      log: this.log,
      progress: p,
      signal,
      phaseMs: {},
      folders,
      resumeNeeded: previous !== undefined && previous !== 'done',
      walked: { files: [], folderArt: new Map(), dirChanged: new Map(), skipped: [] },
      diff: { toRead: [], known: new Map(), ids: new Map(), missing: new Map(), goneErrors: [] },
      publish: (force = false) => this.publish(p, force),
    };
    let state: ScanSummary['state'] = 'done';
    let error: string | null = null;
    const restoreCache = this.repo.limitPageCache(SCAN_PAGE_CACHE_KIB);
    const restoreCheckpoints = this.repo.spaceCheckpoints(SCAN_CHECKPOINT_PAGES);
    try {
      await runPhases(ctx);
    } catch (err) {
      if (signal.aborted) {
        state = 'interrupted';
        error = 'stopped';
      } else {
        state = 'failed';
        error = err instanceof Error ? err.message : String(err);
        this.log.error({ err, runId: p.runId }, 'library scan failed');
      }
    } finally {
      // Put back after the scan: the rescan's index (a read phase that wrote many rows dropped it;
      // a scan killed before this point left it missing; nothing to do when it exists), then the
      // settings. A failure here (a full disk refuses the index's pages) is logged, never allowed to
      // keep the run below from being recorded as finished (it would stay 'running' until the next
      // start); a missing index only makes rescans read the stamps by a table scan until a scan
      // builds it.
      const restores = [() => this.repo.restoreStampIndex(), restoreCache, restoreCheckpoints];
      for (const restore of restores) {
        try {
          await restore();
        } catch (err) {
          this.log.warn({ err, runId: p.runId }, 'could not restore a database index or setting after the scan');
        }
      }
      this.repo.clearCaches();
      this.artwork.clear();
    }
    p.phase = 'done';
    p.unreadableTotal = await this.repo.unreadableCount();
    const finishedAt = this.options.clock.now();
    p.elapsedMs = finishedAt - p.startedAt;
    const summary: ScanSummary = { ...p, state, phaseMs: ctx.phaseMs, error, finishedAt };
    await this.saving;
    await this.runs.finish(summary);
    const { added, updated, moved, removed, unreadable, unreadableTotal, deferred } = p;
    this.log.info(
      {
        runId: p.runId,
        state,
        added,
        updated,
        moved,
        removed,
        unreadable,
        deferred,
        phaseMs: ctx.phaseMs,
        ms: p.elapsedMs,
      },
      'library scan finished',
    );
    if (unreadableTotal > 0)
      this.log.warn(
        { unreadable: unreadableTotal, newlyUnreadable: unreadable },
        `${unreadableTotal} files in the music folder could not be read (list: GET /api/v1/scan/errors, or Admin → Library scan)`,
      );
    this.emitter.emit('progress', summary, true);
    recordScan(summary);
    if (state === 'done') this.options.events.emit('library.scanned', { added, updated, removed, moved });
    return summary;
  }
}

/**
 * Folders of a scoped scan, relative to the music folder with `/` separators: `.`/empty is the
 * whole folder, duplicates and folders inside another listed one are dropped. Absolute paths and
 * `..` are refused (a scan never leaves the music folder).
 */
export function normalizeFolders(folders: string[]): string[] {
  const out: string[] = [];
  for (const raw of folders) {
    const unix = raw.replaceAll('\\', '/');
    if (unix.startsWith('/') || unix.split('/').includes('..'))
      throw new Invalid(`Scan folders are relative to the music folder and stay inside it: ${raw}`);
    const norm = posix.normalize(unix).replace(/\/+$/, '');
    out.push(norm === '.' ? '' : norm);
  }
  const sorted = [...new Set(out)].sort();
  return sorted.filter((f) => !sorted.some((g) => g !== f && (g === '' || f.startsWith(`${g}/`))));
}

/** This process, as recorded on its scan runs. */
const OWNER = `${hostname()}:${process.pid}`;

function ownerAlive(owner: string): boolean {
  const at = owner.lastIndexOf(':');
  const host = owner.slice(0, at);
  const pid = Number(owner.slice(at + 1));
  if (owner === OWNER) return false; // our own run from before is not running now (this scanner is new)
  if (host !== hostname() || !Number.isInteger(pid)) return false; // another machine: cannot tell; treat as dead
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Scan measurements for /metrics (shared/telemetry.ts). */
function recordScan(s: ScanSummary): void {
  telemetry.add('earshot_scan_runs_total', { outcome: s.state });
  telemetry.observe('earshot_scan_duration_seconds', {}, s.elapsedMs / 1000);
  telemetry.add('earshot_scan_files_total', {}, s.filesDone);
  telemetry.add('earshot_scan_unreadable_files_total', {}, s.unreadable);
  if (s.state === 'done') telemetry.set('earshot_scan_last_success_timestamp_seconds', {}, s.finishedAt / 1000);
}
