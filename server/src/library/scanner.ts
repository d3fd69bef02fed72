/**
 * The library scanner, as named phases (see README.md): walk → diff → read (worker pool; artwork
 * and batched writes as results arrive) → moves/prune → group → index. Each phase is timed and
 * logged; progress is published to listeners (SSE, CLI progress bar) and persisted in `scan_runs`.
 *
 * Idempotent and resumable: every batch is one transaction, the diff is by (path, size, mtime), so
 * a scan killed half-way leaves a consistent DB and the next scan only does what is left. A run
 * left 'running' by a dead process is marked 'interrupted', which forces the group phase.
 */
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { EventEmitter } from 'node:events';
import type { OpenedDatabase } from '../db/database.js';
import type { ScanKind } from '../db/tables/library.js';
import { Conflict, Invalid } from '../shared/errors.js';
import { telemetry } from '../shared/telemetry.js';
import type { EventBus } from '../shared/events.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { ArtworkStore, type StoredArtwork } from './artwork-store.js';
import { type KnownTrack, LibraryRepository, scanId, type TrackWrite } from './library.repository.js';
import type { ReadResult } from './tag-worker.js';
import { foldKey } from './tags.js';
import { dirOf, type WalkedFile, type WalkResult, walkLibrary } from './walk.js';
import { TagWorkerPool } from './worker-pool.js';

export type ScanPhase = 'walk' | 'diff' | 'read' | 'prune' | 'group' | 'done';

export interface ScanProgress {
  runId: string;
  kind: ScanKind;
  trigger: string;
  phase: ScanPhase;
  filesFound: number;
  /** Files that need reading this run (new or changed) and how many are done. */
  filesTotal: number;
  filesDone: number;
  added: number;
  updated: number;
  moved: number;
  removed: number;
  unreadable: number;
  /** Files skipped because they were still being written (read on a later scan). */
  deferred: number;
  startedAt: number;
  elapsedMs: number;
}

export interface ScanSummary extends ScanProgress {
  state: 'done' | 'failed' | 'interrupted';
  phaseMs: Record<string, number>;
  error: string | null;
  finishedAt: number;
}

export interface ScannerOptions {
  database: OpenedDatabase;
  musicDir: string;
  artworkDir: string;
  cacheDir: string;
  separators: string[];
  workers: number;
  logger: Logger;
  clock: Clock;
  events: EventBus;
  /** Files modified less than this long ago are left for a later scan (still being copied in). */
  settleMs?: number;
  /** Per-file time budget in the worker. */
  fileTimeoutMs?: number;
}

/**
 * Rows per write transaction. Each commit flushes a new FTS5 segment (the search index triggers)
 * and merges segments, so larger batches cost much less per row (≈180 µs → ≈100 µs here from 100
 * to 400 rows). The size adapts so that one transaction holds the event loop for about
 * WRITE_BUDGET_MS (HTTP stays responsive during a scan), between BATCH_MIN and BATCH_MAX rows.
 */
const BATCH_MIN = 100;
const BATCH_MAX = 800;
const WRITE_BUDGET_MS = 40;
/** Deletions per transaction in the prune phase. */
const BATCH = 100;
/** Read jobs in flight: enough that the workers stay busy while the main thread writes a batch. */
const IN_FLIGHT = 256;
/** File-system timestamps can be this much coarser than the clock (FAT: 2 s). */
const FS_TIME_SLACK_MS = 2000;
/** Batches waiting to be written (their artwork being stored) before reading pauses. */
const WRITES_AHEAD = 3;

interface BatchArtwork {
  /** Artwork rows to insert with the batch. */
  rows: Map<string, StoredArtwork>;
  /** Folder → its image's artwork id (null: no usable image). */
  folderIds: Map<string, string | null>;
}

/** Artwork being stored during one scan, so that each image is read, hashed and written once. */
class ArtworkInFlight {
  readonly embedded = new Map<string, Promise<StoredArtwork | null>>();
  readonly folders = new Map<string, Promise<{ id: string | null; row: StoredArtwork | null }>>();
}

const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));

export class LibraryScanner {
  private readonly repo: LibraryRepository;
  private readonly artwork: ArtworkStore;
  private readonly emitter = new EventEmitter();
  private current: { promise: Promise<ScanSummary>; progress: ScanProgress; abort: AbortController } | null = null;
  private readonly log: Logger;

  constructor(private readonly options: ScannerOptions) {
    this.repo = new LibraryRepository(options.database.sqlite);
    this.artwork = new ArtworkStore(options.artworkDir, options.cacheDir);
    this.log = options.logger.child({ area: 'library' });
    this.emitter.setMaxListeners(100);
    this.markInterrupted();
  }

  /** Runs left 'running' by a process that is gone are interrupted (the next scan regroups). */
  private markInterrupted(): void {
    const { sqlite } = this.options.database;
    const running = sqlite.prepare("select id, owner from scan_runs where state = 'running'").all() as {
      id: string;
      owner: string | null;
    }[];
    for (const run of running) {
      if (run.owner && ownerAlive(run.owner)) continue;
      sqlite
        .prepare("update scan_runs set state = 'interrupted', finished_at = ? where id = ?")
        .run(this.options.clock.now(), run.id);
    }
  }

  /** A scan another live process (e.g. `earshot scan` beside the server) is running on this DB. */
  private otherProcessScan(): { owner: string } | null {
    this.markInterrupted();
    const row = this.options.database.sqlite
      .prepare("select owner from scan_runs where state = 'running' and owner is not null and owner != ? limit 1")
      .get(OWNER) as { owner: string } | undefined;
    return row ?? null;
  }

  get running(): boolean {
    return this.current !== null;
  }

  get progress(): ScanProgress | null {
    return this.current
      ? { ...this.current.progress, elapsedMs: this.options.clock.now() - this.current.progress.startedAt }
      : null;
  }

  /** Listens to progress (throttled) and to the final summary. Returns an unsubscribe function. */
  onProgress(listener: (p: ScanProgress | ScanSummary, final: boolean) => void): () => void {
    const fn = (p: ScanProgress | ScanSummary, final: boolean) => listener(p, final);
    this.emitter.on('progress', fn);
    return () => this.emitter.off('progress', fn);
  }

  /** Starts a scan; throws Conflict when one is running. Resolves when it ends. */
  start(options: { full?: boolean; trigger?: string } = {}): Promise<ScanSummary> {
    if (this.current) throw new Conflict('A library scan is already running.');
    const other = this.otherProcessScan();
    if (other) throw new Conflict(`A library scan is already running in another process (${other.owner}).`);
    const now = this.options.clock.now();
    const progress: ScanProgress = {
      runId: newId(),
      kind: options.full ? 'full' : 'incremental',
      trigger: options.trigger ?? 'manual',
      phase: 'walk',
      filesFound: 0,
      filesTotal: 0,
      filesDone: 0,
      added: 0,
      updated: 0,
      moved: 0,
      removed: 0,
      unreadable: 0,
      deferred: 0,
      startedAt: now,
      elapsedMs: 0,
    };
    const abort = new AbortController();
    const promise = this.run(progress, abort.signal).finally(() => {
      this.current = null;
    });
    this.current = { promise, progress, abort };
    return promise;
  }

  /** Waits for the running scan (if any). */
  async idle(): Promise<void> {
    await this.current?.promise.catch(() => undefined);
  }

  /** Stops a running scan at the next batch boundary (the DB stays consistent). */
  async stop(): Promise<void> {
    if (!this.current) return;
    this.current.abort.abort(new Error('scan stopped'));
    await this.current.promise.catch(() => undefined);
  }

  private publish(p: ScanProgress, force = false): void {
    const now = this.options.clock.now();
    if (!force && now - this.lastPublish < 200) return;
    this.lastPublish = now;
    p.elapsedMs = now - p.startedAt;
    this.emitter.emit('progress', { ...p }, false);
    this.options.database.sqlite
      .prepare(
        'update scan_runs set phase = ?, files_total = ?, files_done = ?, added = ?, updated = ?, moved = ?, removed = ?, unreadable = ?, deferred = ? where id = ?',
      )
      .run(
        p.phase,
        p.filesTotal,
        p.filesDone,
        p.added,
        p.updated,
        p.moved,
        p.removed,
        p.unreadable,
        p.deferred,
        p.runId,
      );
  }
  private lastPublish = 0;
  /** The chain of batch writes of the running scan. */
  private writing: Promise<void> = Promise.resolve();

  private async run(p: ScanProgress, signal: AbortSignal): Promise<ScanSummary> {
    const { sqlite } = this.options.database;
    const clock = this.options.clock;
    const phaseMs: Record<string, number> = {};
    const previous = sqlite.prepare('select state from scan_runs order by started_at desc limit 1').get() as
      | { state: string }
      | undefined;
    const resumeNeeded = previous !== undefined && previous.state !== 'done';
    sqlite
      .prepare(
        "insert into scan_runs (id, kind, state, phase, trigger, owner, started_at) values (?, ?, 'running', 'walk', ?, ?, ?)",
      )
      .run(p.runId, p.kind, p.trigger, OWNER, p.startedAt);
    this.log.info({ runId: p.runId, kind: p.kind, trigger: p.trigger }, 'library scan started');
    let pool: TagWorkerPool | null = null;
    const timed = async <T>(phase: ScanPhase | 'artwork' | 'write' | 'gc', fn: () => Promise<T> | T): Promise<T> => {
      const t0 = performance.now();
      try {
        return await fn();
      } finally {
        phaseMs[phase] = Math.round((phaseMs[phase] ?? 0) + performance.now() - t0);
      }
    };
    let state: ScanSummary['state'] = 'done';
    let error: string | null = null;
    try {
      const st = statSync(this.options.musicDir, { throwIfNoEntry: false });
      if (!st?.isDirectory()) throw new Invalid(`The music folder ${this.options.musicDir} does not exist.`);

      // ── walk ──
      const walked = await timed('walk', () => walkLibrary(this.options.musicDir, signal));
      p.filesFound = walked.files.length;
      for (const s of walked.skipped) this.log.warn({ path: s.rel, reason: s.reason }, 'skipped during walk');
      this.log.info({ files: walked.files.length, ms: phaseMs.walk }, 'scan phase walk done');

      // ── diff ──
      p.phase = 'diff';
      const { toRead, missing, known } = await timed('diff', () => this.diff(walked, p, clock.now()));
      p.filesTotal = toRead.length;
      this.log.info(
        { toRead: toRead.length, missing: missing.size, deferred: p.deferred, ms: phaseMs.diff },
        'scan phase diff done',
      );
      this.publish(p, true);

      // ── read (+ moves, artwork, batched writes) ──
      p.phase = 'read';
      const missingByHash = new Map<string, KnownTrack>();
      const missingByTags = new Map<string, KnownTrack | null>();
      for (const t of missing.values()) {
        if (t.content_hash) missingByHash.set(t.content_hash, t);
        const key = tagKey(t.duration, t.title, t.artist, t.album);
        missingByTags.set(key, missingByTags.has(key) ? null : t); // ambiguous → no tag match
      }
      if (toRead.length > 0) {
        const size = this.options.workers > 0 ? this.options.workers : Math.max(1, Math.min(availableParallelism(), 8));
        pool = new TagWorkerPool({ size, separators: this.options.separators, timeoutMs: this.options.fileTimeoutMs });
        const readPool = pool;
        // Keep the workers busy (a few jobs queued per worker); results are collected as they
        // arrive, also while a batch is being written.
        let next = 0;
        let outstanding = 0;
        let arrived: { file: WalkedFile; result: ReadResult }[] = [];
        let wake: (() => void) | null = null;
        const launch = () => {
          while (next < toRead.length && outstanding < IN_FLIGHT) {
            const file = toRead[next];
            const id = next++;
            outstanding++;
            void readPool
              .read({ id, abs: file.abs, rel: file.rel, size: file.size, mtime: file.mtime, lrc: file.lrc })
              .then(
                (result) => {
                  outstanding--;
                  arrived.push({ file, result });
                  wake?.();
                },
                (err: unknown) => {
                  outstanding--;
                  readFailure ??= err instanceof Error ? err : new Error(String(err));
                  wake?.();
                },
              );
          }
        };
        let readFailure: Error | null = null;
        let pending: { file: WalkedFile; result: ReadResult }[] = [];
        const t0 = performance.now();
        // Batches are written in order on a chain: a batch's new artwork files are stored while
        // earlier batches are written and later ones are read; its rows are written once its
        // artwork is on disk. At most WRITES_AHEAD batches wait, which bounds memory.
        const art = new ArtworkInFlight();
        let batchRows = 2 * BATCH_MIN;
        let queued = 0;
        launch();
        while (outstanding > 0 || arrived.length > 0 || pending.length > 0) {
          if (signal.aborted) throw signal.reason;
          if (readFailure) throw readFailure;
          if (arrived.length === 0 && outstanding > 0) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
          }
          wake = null;
          for (const r of arrived) pending.push(r);
          arrived = [];
          launch();
          if (pending.length >= batchRows || (outstanding === 0 && arrived.length === 0)) {
            const batch = pending;
            pending = [];
            const stored = this.storeArtwork(batch, walked.folderArt, art);
            queued += 1;
            this.writing = this.writing.then(async () => {
              const ta = performance.now();
              const artwork = await stored;
              phaseMs.artwork = Math.round((phaseMs.artwork ?? 0) + performance.now() - ta);
              if (signal.aborted) return;
              const tw = performance.now();
              this.writeResults(batch, artwork, p, known, missing, missingByHash, missingByTags, phaseMs);
              const perRow = (performance.now() - tw) / Math.max(1, batch.length);
              if (batch.length >= BATCH_MIN / 2)
                batchRows = Math.round(Math.min(BATCH_MAX, Math.max(BATCH_MIN, WRITE_BUDGET_MS / perRow)));
              queued -= 1;
              this.publish(p);
              await yieldNow();
            });
            this.writing.catch(() => undefined); // failures surface where the chain is awaited
            if (queued >= WRITES_AHEAD) await this.writing;
          }
        }
        await this.writing;
        if (readFailure) throw readFailure;
        phaseMs.read = Math.round(performance.now() - t0);
        await pool.close();
        pool = null;
        this.log.info(
          { read: p.filesDone, ms: phaseMs.read, artworkMs: phaseMs.artwork, writeMs: phaseMs.write },
          'scan phase read done',
        );
      }

      // ── prune ──
      p.phase = 'prune';
      await timed('prune', async () => {
        const present = new Set(walked.files.map((f) => f.rel));
        this.repo.deleteErrorsNotIn(present);
        const gone = [...missing.values()].map((t) => t.id);
        if (gone.length > 0 && walked.files.length === 0 && readdirSync(this.options.musicDir).length === 0) {
          // An empty music folder under a non-empty library is almost always an unmounted share, not a deletion.
          this.log.warn(
            { tracks: gone.length },
            'music folder is empty: not removing any tracks (is the drive mounted?)',
          );
          return;
        }
        for (let i = 0; i < gone.length; i += BATCH) {
          this.repo.deleteTracks(gone.slice(i, i + BATCH));
          await yieldNow();
        }
        p.removed = gone.length;
        if (gone.length > 0) this.options.events.emit('library.tracksRemoved', { trackIds: gone });
      });

      // ── group ──
      p.phase = 'group';
      const changed = p.added + p.updated + p.moved + p.removed > 0;
      if (changed || resumeNeeded || p.kind === 'full') {
        await timed('group', () => this.repo.regroup(clock.now(), yieldNow));
        await timed('gc', () => this.collectArtwork(p.kind === 'full'));
      }
      this.log.info({ ms: phaseMs.group ?? 0, prunedMs: phaseMs.prune }, 'scan phase group done');
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
      await this.writing.catch(() => undefined); // never clear the caches under a pending write
      this.writing = Promise.resolve();
      await pool?.close();
      this.repo.clearCaches();
      this.artwork.clear();
    }
    p.phase = 'done';
    const finishedAt = clock.now();
    p.elapsedMs = finishedAt - p.startedAt;
    const summary: ScanSummary = { ...p, state, phaseMs, error, finishedAt };
    sqlite
      .prepare(
        'update scan_runs set state = ?, phase = ?, files_total = ?, files_done = ?, added = ?, updated = ?, moved = ?, removed = ?, unreadable = ?, deferred = ?, phase_ms = ?, error = ?, finished_at = ? where id = ?',
      )
      .run(
        state,
        'done',
        p.filesTotal,
        p.filesDone,
        p.added,
        p.updated,
        p.moved,
        p.removed,
        p.unreadable,
        p.deferred,
        JSON.stringify(phaseMs),
        error,
        finishedAt,
        p.runId,
      );
    this.log.info(
      {
        runId: p.runId,
        state,
        added: p.added,
        updated: p.updated,
        moved: p.moved,
        removed: p.removed,
        unreadable: p.unreadable,
        deferred: p.deferred,
        phaseMs,
        ms: p.elapsedMs,
      },
      'library scan finished',
    );
    this.emitter.emit('progress', summary, true);
    recordScan(summary);
    if (state === 'done') {
      this.options.events.emit('library.scanned', {
        added: p.added,
        updated: p.updated,
        removed: p.removed,
        moved: p.moved,
      });
    }
    return summary;
  }

  /**
   * Deletes artwork no track, album or artist uses any more (rows and files). Only the scanner's
   * own kinds (embedded, folder file): remote thumbnails are the sources area's. A full scan also
   * sweeps files left without a row (a crash between writing the file and committing its row).
   */
  private async collectArtwork(sweep: boolean): Promise<void> {
    const unused = this.repo.deleteUnusedArtwork();
    await this.artwork.remove(unused);
    if (sweep) {
      const removed = await this.artwork.sweepOrphans(this.repo.artworkPaths());
      if (removed > 0) this.log.info({ files: removed }, 'removed artwork files without a row');
    }
    if (unused.length > 0) this.log.info({ images: unused.length }, 'removed unused artwork');
  }

  private diff(walked: WalkResult, p: ScanProgress, now: number) {
    const files = walked.files;
    if (p.kind === 'full') {
      // Artwork files are not fsynced (artwork-store.ts): one a power cut left short or missing
      // loses its row here, and this full scan stores it again.
      const bad = this.artwork.verify(this.repo.scannerArtwork());
      if (bad.length > 0) {
        this.log.warn({ images: bad.length }, 'artwork files missing or damaged: storing them again');
        this.repo.deleteArtwork(bad);
      }
    }
    this.repo.loadCaches();
    const reapply = p.kind === 'incremental' ? this.folderArtChanges(walked, p.runId) : new Set<string>();
    const known = new Map<string, KnownTrack>();
    for (const t of this.repo.localTracks()) known.set(t.local_path, t);
    const errors = this.repo.scanErrors();
    const missing = new Map(known);
    const toRead: WalkedFile[] = [];
    const settle = this.options.settleMs ?? 2000;
    for (const f of files) {
      missing.delete(f.rel);
      const row = known.get(f.rel);
      const same = row ? row.size === f.size && row.mtime === f.mtime : false;
      if (same && p.kind === 'incremental' && (reapply.size === 0 || !reapply.has(dirOf(f.rel)))) continue;
      const err = errors.get(f.rel);
      if (!row && err && err.size === f.size && err.mtime === f.mtime && p.kind === 'incremental') continue;
      if (now - f.mtime < settle && !same) {
        p.deferred += 1; // still being written: read it once it has settled
        continue;
      }
      toRead.push(f);
    }
    return { toRead, missing, known };
  }

  /**
   * Folders whose folder image was added, replaced or removed since the last scan: their unchanged
   * tracks are read again so that tracks and albums pick up the new image (or drop the old one).
   * A folder counts as changed when its entries or its image changed after the previous scan
   * started (with some slack for coarse file-system timestamps, e.g. FAT's 2 s). A changed folder
   * without an image only matters when its tracks still show a folder image.
   */
  private folderArtChanges(walked: WalkResult, runId: string): Set<string> {
    const reapply = new Set<string>();
    const since = this.repo.lastScanStart(runId);
    if (since === null) return reapply; // never scanned: every track is new anyway
    let withFolderArt: Set<string> | null = null;
    for (const [dir, changedAt] of walked.dirChanged) {
      if (changedAt < since - FS_TIME_SLACK_MS) continue;
      const image = walked.folderArt.get(dir);
      const id = image ? this.artwork.folderImageId(image) : null;
      if (id) {
        // Tracks already showing this image are up to date (all of them are written together).
        if (!this.repo.dirShowsArtwork(dir, id)) reapply.add(dir);
      } else {
        withFolderArt ??= this.repo.dirsShowingFolderArt();
        if (withFolderArt.has(dir)) reapply.add(dir);
      }
    }
    if (reapply.size > 0) this.log.debug({ folders: reapply.size }, 'folder images changed');
    return reapply;
  }

  /**
   * Starts storing the new artwork of a batch: embedded pictures (by hash) and folder images (by
   * folder), each image once per scan however many batches show it. Resolves when all are on disk.
   */
  private async storeArtwork(
    batch: { file: WalkedFile; result: ReadResult }[],
    folderArt: Map<string, string>,
    art: ArtworkInFlight,
  ): Promise<BatchArtwork> {
    const known = (id: string) => this.repo.hasArtwork(id);
    const embedded = new Map<string, Promise<StoredArtwork | null>>();
    const folders = new Map<string, Promise<{ id: string | null; row: StoredArtwork | null }>>();
    for (const { file, result } of batch) {
      if (!result.ok) continue;
      const pic = result.picture;
      if (pic && !known(pic.hash) && !embedded.has(pic.hash)) {
        let stored = art.embedded.get(pic.hash);
        if (!stored && pic.data) {
          stored = this.artwork.store(pic.hash, pic.data, 'embedded');
          art.embedded.set(pic.hash, stored);
        }
        if (stored) embedded.set(pic.hash, stored);
      }
      if (pic) pic.data = undefined; // stored (or being stored): the bytes are not needed any more
      const dir = dirOf(file.rel);
      const image = folderArt.get(dir);
      if (image && !folders.has(dir)) {
        let stored = art.folders.get(dir);
        if (!stored) {
          stored = this.artwork.storeFolderImage(image, known);
          art.folders.set(dir, stored);
        }
        folders.set(dir, stored);
      }
    }
    const rows = new Map<string, StoredArtwork>();
    const folderIds = new Map<string, string | null>();
    await Promise.all([
      ...[...embedded.values()].map(async (stored) => {
        const row = await stored;
        if (row) rows.set(row.id, row);
      }),
      ...[...folders.entries()].map(async ([dir, stored]) => {
        const { id, row } = await stored;
        if (row) rows.set(row.id, row);
        folderIds.set(dir, id);
      }),
    ]);
    return { rows, folderIds };
  }

  private writeResults(
    batch: { file: WalkedFile; result: ReadResult }[],
    artwork: BatchArtwork,
    p: ScanProgress,
    knownTracks: Map<string, KnownTrack>,
    missing: Map<string, KnownTrack>,
    missingByHash: Map<string, KnownTrack>,
    missingByTags: Map<string, KnownTrack | null>,
    phaseMs: Record<string, number>,
  ): void {
    const insert: TrackWrite[] = [];
    const update: TrackWrite[] = [];
    const errors: { rel: string; reason: string; size: number; mtime: number }[] = [];
    const readOk: string[] = [];
    const known = (id: string) => this.repo.hasArtwork(id);
    const { rows: artworkRows, folderIds } = artwork;
    for (const { file, result } of batch) {
      p.filesDone += 1;
      // The file changed while it was read (still being copied): leave it for a later scan.
      // The worker checks after its read; a result without the check (time budget, crashed
      // reader) is checked here.
      const changed = result.changed ?? changedSince(file);
      if (changed) {
        p.deferred += 1;
        continue;
      }
      if (!result.ok) {
        p.unreadable += 1;
        errors.push({ rel: file.rel, reason: result.reason, size: file.size, mtime: file.mtime });
        this.log.debug({ path: file.rel, reason: result.reason }, 'unreadable file');
        continue;
      }
      readOk.push(file.rel);
      const hash = result.picture?.hash;
      const artworkId =
        hash && (known(hash) || artworkRows.has(hash)) ? hash : (folderIds.get(dirOf(file.rel)) ?? null);
      const write: TrackWrite = {
        id: '',
        rel: file.rel,
        size: file.size,
        mtime: file.mtime,
        fingerprint: result.fingerprint,
        tags: result.tags,
        artworkId,
        addedAt: null,
      };
      const existing = knownTracks.get(file.rel);
      if (existing) {
        write.id = existing.id;
        update.push(write);
        p.updated += 1;
        continue;
      }
      // A new path: is it a file that moved (same content, or same duration and tags)?
      const t = result.tags;
      let moved = missingByHash.get(result.fingerprint);
      if (moved && !missing.has(moved.local_path)) moved = undefined; // already matched
      if (!moved && missing.size > 0) {
        const candidate = missingByTags.get(tagKey(t.duration, t.title, t.artists.join(', '), t.album));
        moved = candidate && missing.has(candidate.local_path) ? candidate : undefined;
      }
      if (moved) {
        missing.delete(moved.local_path);
        write.id = moved.id;
        update.push(write);
        p.moved += 1;
      } else {
        write.id = scanId();
        insert.push(write);
        p.added += 1;
      }
    }
    const t1 = performance.now();
    this.repo.writeBatch({ insert, update, errors }, [...artworkRows.values()], readOk, this.options.clock.now());
    // (artwork rows are 'insert or ignore': a folder image shown by several batches is fine)
    phaseMs.write = Math.round((phaseMs.write ?? 0) + performance.now() - t1);
  }
}

/** The file's size or mtime differ from what the walk saw (it is being written). */
function changedSince(file: WalkedFile): boolean {
  const after = statSync(file.abs, { throwIfNoEntry: false });
  return !after || after.size !== file.size || Math.trunc(after.mtimeMs) !== file.mtime;
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

function tagKey(duration: number | null, title: string, artist: string | null, album: string | null): string {
  return `${duration === null ? '?' : duration.toFixed(1)}\u001f${foldKey(title)}\u001f${foldKey(artist ?? '')}\u001f${foldKey(album ?? '')}`;
}

/** Scan measurements for /metrics (shared/telemetry.ts). */
function recordScan(s: ScanSummary): void {
  telemetry.add('earshot_scan_runs_total', { outcome: s.state });
  telemetry.observe('earshot_scan_duration_seconds', {}, s.elapsedMs / 1000);
  telemetry.add('earshot_scan_files_total', {}, s.filesDone);
  telemetry.add('earshot_scan_unreadable_files_total', {}, s.unreadable);
  if (s.state === 'done') telemetry.set('earshot_scan_last_success_timestamp_seconds', {}, s.finishedAt / 1000);
}
