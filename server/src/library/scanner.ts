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
import type { EventBus } from '../shared/events.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { ArtworkStore, type StoredArtwork } from './artwork-store.js';
import { type KnownTrack, LibraryRepository, type TrackWrite } from './library.repository.js';
import type { ReadResult } from './tag-worker.js';
import { foldKey } from './tags.js';
import { dirOf, type WalkedFile, walkLibrary } from './walk.js';
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

/** Rows per write transaction: small enough that one batch never holds the event loop for long. */
const BATCH = 100;
/** Read jobs in flight: enough that the workers stay busy while the main thread writes a batch. */
const IN_FLIGHT = 256;
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
    const timed = async <T>(phase: ScanPhase | 'artwork' | 'write', fn: () => Promise<T> | T): Promise<T> => {
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
      const { toRead, missing, known } = await timed('diff', () => this.diff(walked.files, p, clock.now()));
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
            void readPool.read({ id, abs: file.abs, rel: file.rel, size: file.size, lrc: file.lrc }).then(
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
          pending = pending.concat(arrived);
          arrived = [];
          launch();
          if (pending.length >= BATCH || (outstanding === 0 && arrived.length === 0)) {
            const batch = pending;
            pending = [];
            await this.writeResults(batch, p, known, missing, missingByHash, missingByTags, walked.folderArt, phaseMs);
            this.publish(p);
            await yieldNow();
          }
        }
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
      if (changed || resumeNeeded || p.kind === 'full')
        await timed('group', () => this.repo.regroup(clock.now(), yieldNow));
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

  private diff(files: WalkedFile[], p: ScanProgress, now: number) {
    this.repo.loadCaches();
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
      if (same && p.kind === 'incremental') continue;
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

  private async writeResults(
    batch: { file: WalkedFile; result: ReadResult }[],
    p: ScanProgress,
    knownTracks: Map<string, KnownTrack>,
    missing: Map<string, KnownTrack>,
    missingByHash: Map<string, KnownTrack>,
    missingByTags: Map<string, KnownTrack | null>,
    folderArt: Map<string, string>,
    phaseMs: Record<string, number>,
  ): Promise<void> {
    const insert: TrackWrite[] = [];
    const update: TrackWrite[] = [];
    const errors: { rel: string; reason: string; size: number; mtime: number }[] = [];
    const readOk: string[] = [];
    const artworkRows = new Map<string, StoredArtwork>();
    const t0 = performance.now();
    // Artwork first, all new images of the batch written concurrently (each write fsyncs).
    const embedded = new Map<string, Promise<StoredArtwork | null>>();
    const folders = new Map<string, Promise<{ id: string | null; row: StoredArtwork | null }>>();
    const known = (id: string) => this.repo.hasArtwork(id);
    for (const { file, result } of batch) {
      if (!result.ok) continue;
      const pic = result.picture;
      if (pic && !known(pic.hash) && pic.data && !embedded.has(pic.hash)) {
        embedded.set(pic.hash, this.artwork.store(pic.hash, pic.data, 'embedded'));
      }
      const dir = dirOf(file.rel);
      const image = folderArt.get(dir);
      if (image && !folders.has(dir)) folders.set(dir, this.artwork.storeFolderImage(image, known));
    }
    const folderIds = new Map<string, string | null>();
    await Promise.all([
      ...[...embedded.values()].map(async (stored) => {
        const row = await stored;
        if (row) artworkRows.set(row.id, row);
      }),
      ...[...folders.entries()].map(async ([dir, stored]) => {
        const { id, row } = await stored;
        if (row) artworkRows.set(row.id, row);
        folderIds.set(dir, id);
      }),
    ]);
    phaseMs.artwork = Math.round((phaseMs.artwork ?? 0) + performance.now() - t0);
    for (const { file, result } of batch) {
      p.filesDone += 1;
      // The file changed while it was read (still being copied): leave it for a later scan.
      const after = statSync(file.abs, { throwIfNoEntry: false });
      if (!after || after.size !== file.size || Math.trunc(after.mtimeMs) !== file.mtime) {
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
      if (!moved || !missing.has(moved.local_path)) {
        const candidate = missingByTags.get(tagKey(t.duration, t.title, t.artists.join(', '), t.album));
        moved = candidate && missing.has(candidate.local_path) ? candidate : undefined;
      }
      if (moved) {
        missing.delete(moved.local_path);
        write.id = moved.id;
        update.push(write);
        p.moved += 1;
      } else {
        write.id = newId();
        insert.push(write);
        p.added += 1;
      }
    }
    const t1 = performance.now();
    this.repo.writeBatch({ insert, update, errors }, [...artworkRows.values()], readOk, this.options.clock.now());
    phaseMs.write = Math.round((phaseMs.write ?? 0) + performance.now() - t1);
  }
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
