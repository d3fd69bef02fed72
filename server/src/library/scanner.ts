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
import { LibraryRepository } from './library.repository.js';
import { ScanRunsRepository } from './scan-runs.repository.js';
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
/** The connection's page cache during a scan (LibraryRepository.limitPageCache). */
const SCAN_PAGE_CACHE_KIB = 4096;

export class LibraryScanner {
  private readonly repo: LibraryRepository;
  private readonly runs: ScanRunsRepository;
  private readonly artwork: ArtworkStore;
  private readonly emitter = new EventEmitter();
  private current: { promise: Promise<ScanSummary>; progress: ScanProgress; abort: AbortController } | null = null;
  private readonly log: Logger;
  private lastPublish = 0;

  constructor(private readonly options: ScannerOptions) {
    this.repo = new LibraryRepository(options.database.sqlite);
    this.runs = new ScanRunsRepository(options.database.sqlite);
    this.artwork = new ArtworkStore(options.artworkDir, options.cacheDir);
    this.log = options.logger.child({ area: 'library' });
    this.emitter.setMaxListeners(100);
    this.markInterrupted();
  }

  /** Runs left 'running' by a process that is gone are interrupted (the next scan regroups). */
  private markInterrupted(): void {
    for (const run of this.runs.running()) {
      if (run.owner && ownerAlive(run.owner)) continue;
      this.runs.markInterrupted(run.id, this.options.clock.now());
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
  unreadableTotal(): number {
    return this.repo.unreadableCount();
  }

  /** Listens to progress (throttled) and to the final summary. Returns an unsubscribe function. */
  onProgress(listener: (p: ScanProgress | ScanSummary, final: boolean) => void): () => void {
    const fn = (p: ScanProgress | ScanSummary, final: boolean) => listener(p, final);
    this.emitter.on('progress', fn);
    return () => this.emitter.off('progress', fn);
  }

  /** Starts a scan; throws Conflict when one is running, Invalid for a bad folder. Resolves when it ends. */
  start(request: ScanRequest = {}): Promise<ScanSummary> {
    if (this.current) throw new Conflict('A library scan is already running.');
    const folders = request.folders ? normalizeFolders(request.folders) : null;
    this.markInterrupted();
    const other = this.runs.runningElsewhere(OWNER);
    if (other) throw new Conflict(`A library scan is already running in another process (${other}).`);
    const progress = newProgress({
      runId: newId(),
      kind: request.full ? 'full' : 'incremental',
      trigger: request.trigger ?? 'manual',
      folders,
      unreadableTotal: this.repo.unreadableCount(),
      startedAt: this.options.clock.now(),
    });
    const abort = new AbortController();
    const promise = this.run(progress, folders, abort.signal).finally(() => {
      this.current = null;
    });
    this.current = { promise, progress, abort };
    return promise;
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
    this.runs.saveProgress(p);
    this.emitter.emit('progress', { ...p }, false);
  }

  private async run(p: ScanProgress, folders: string[] | null, signal: AbortSignal): Promise<ScanSummary> {
    const previous = this.runs.latestState();
    this.runs.start(p, OWNER);
    this.log.info({ runId: p.runId, kind: p.kind, trigger: p.trigger, folders }, 'library scan started');
    const ctx: ScanContext = {
      options: this.options,
      repo: this.repo,
      runs: this.runs,
      artwork: this.artwork,
      log: this.log,
      progress: p,
      signal,
      phaseMs: {},
      folders,
      resumeNeeded: previous !== undefined && previous !== 'done',
      walked: { files: [], folderArt: new Map(), dirChanged: new Map(), skipped: [] },
      diff: { toRead: [], known: new Map(), missing: new Map() },
      publish: (force = false) => this.publish(p, force),
    };
    let state: ScanSummary['state'] = 'done';
    let error: string | null = null;
    const restoreCache = this.repo.limitPageCache(SCAN_PAGE_CACHE_KIB);
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
      restoreCache();
      this.repo.clearCaches();
      this.artwork.clear();
    }
    p.phase = 'done';
    p.unreadableTotal = this.repo.unreadableCount();
    const finishedAt = this.options.clock.now();
    p.elapsedMs = finishedAt - p.startedAt;
    const summary: ScanSummary = { ...p, state, phaseMs: ctx.phaseMs, error, finishedAt };
    this.runs.finish(summary);
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
