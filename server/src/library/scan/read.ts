/**
 * Scan phase `read`: tags of the new and changed files in the worker pool, then per batch its
 * artwork (artwork.ts) and one write transaction. Jobs are pipelined (IN_FLIGHT) so the workers
 * keep reading while the main thread writes; batches are written in order on a chain, at most
 * WRITES_AHEAD waiting (which bounds memory). A new path whose content fingerprint, or duration +
 * title + artist + album, matches a missing track is a move: the row keeps its id.
 */
import { realpathSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { collectGarbage } from '../../shared/heap.js';
import { type KnownTrack, scanId, type TrackStamp, type TrackWrite } from '../library.repository.js';
import type { ReadResult } from '../tag-worker.js';
import { foldKey } from '../tags.js';
import { TagWorkerPool } from '../worker-pool.js';
import type { Awaitable } from '../scan-store.js';
import { ArtworkInFlight, type BatchArtwork, storeBatchArtwork } from './artwork.js';
import { addTime, type ScanContext, yieldNow } from './context.js';
import { absolutePath, dirOf, type WalkedFile } from './walk.js';

/**
 * Rows per write transaction. Each commit flushes a new FTS5 segment (the search index triggers)
 * and merges segments, so larger batches cost much less per row (≈180 µs → ≈100 µs here from 100
 * to 400 rows). The size adapts so that one transaction holds the event loop for about
 * WRITE_BUDGET_MS (HTTP stays responsive during a scan), between BATCH_MIN and BATCH_MAX rows.
 */
const BATCH_MIN = 100;
const BATCH_MAX = 800;
const WRITE_BUDGET_MS = 40;
/** Read jobs in flight: enough that the workers stay busy while the main thread writes a batch. */
const IN_FLIGHT = 256;
/** Batches waiting to be written (their artwork being stored) before reading pauses. */
const WRITES_AHEAD = 3;
/**
 * Past this many files to read, and a tenth of the library, the rescan's stamp index is dropped
 * for the writes and built once at the scan's end (LibraryRepository.suspendStampIndex): row by
 * row it cost ~0.015 ms per track written, the build ~1.2 µs per track in the library.
 */
const STAMP_INDEX_DEFER_MIN = 1000;
/**
 * Heap growth after which the read phase runs a full collection: HEAP_SLACK_MIN bytes, or a
 * quarter of the heap in use after the last one (a collection's cost grows with the live heap,
 * so it runs as often per byte of garbage whatever the heap). Every result waits for its batch
 * (hundreds of rows, a few batches queued), so it outlives the young generation and dies in the
 * old one; V8 let that garbage grow the main heap by 20–30 MB at 20,000 files before collecting
 * (its growing factor follows the allocation rate, which the batched readers raised). One
 * collection per ~8 MB of garbage is a pause of ~10–40 ms every few thousand files and keeps
 * the heap, and the scan's peak RSS, near its live size.
 */
const HEAP_SLACK_MIN = 8 * 1024 * 1024;
/** Files to read from which the read phase collects the main heap as it starts (see HeapGuard). */
const COLLECT_FIRST_MIN = 1000;

/** Whether writing `toRead` files into a library of `known` tracks builds the stamp index after. */
export function deferStampIndex(toRead: number, known: number): boolean {
  return toRead >= STAMP_INDEX_DEFER_MIN && toRead * 10 >= known + toRead;
}

type Read = { file: WalkedFile; result: ReadResult };

/**
 * Tag readers when the setting is 0: one core fewer than the machine has (the main thread writes
 * full-time: its SQL per file costs about what a reader's parse does), at least 1, at most 4
 * (past that the writer is the bottleneck). On a 2-core box one reader instead of two cut the
 * scan's CPU by ~30 % (one JIT warm-up, one isolate's GC, no third thread fighting for two
 * cores) and its peak RSS by ~25 MB, for the same wall time (bench/README.md, "Scan CPU").
 */
export function defaultWorkers(cores: number): number {
  return Math.max(1, Math.min(cores - 1, 4));
}

export async function readPhase(ctx: ScanContext): Promise<void> {
  const toRead: (WalkedFile | null)[] = ctx.diff.toRead;
  if (toRead.length === 0) return;
  const total = toRead.length;
  // The walk's list is let go file by file as the files are read (each job holds its file until
  // its row is written): ~170 bytes a file, 8 MB of the main heap at 50,000 files, which stayed
  // live through the whole read phase, where a full scan's peak RSS is. Nothing after this phase
  // reads it (the diff left the prune phase what it needs).
  ctx.walked = { ...ctx.walked, files: [] };
  ctx.diff = { ...ctx.diff, toRead: [] };
  const { options, signal } = ctx;
  // Name → id caches for the writes (loaded here, not in the diff: a rescan with nothing to read
  // never needs them).
  await ctx.repo.loadCaches();
  if (deferStampIndex(total, ctx.diff.known.size)) await ctx.repo.suspendStampIndex();
  // The walk's root (paths are rebuilt from it per job, not kept per file).
  const root = realpathSync(options.musicDir);
  const moves = new MoveFinder(ctx.diff.missing, (ids) => ctx.repo.knownTracks(ids));
  const size = options.workers > 0 ? options.workers : defaultWorkers(availableParallelism());
  const pool = new TagWorkerPool({ size, separators: options.separators, timeoutMs: options.fileTimeoutMs });
  let writing: Promise<void> = Promise.resolve();
  const heap = new HeapGuard(total >= COLLECT_FIRST_MIN);
  try {
    let next = 0;
    let outstanding = 0;
    let arrived: Read[] = [];
    let wake: (() => void) | null = null;
    let readFailure: Error | null = null;
    const launch = () => {
      while (next < total && outstanding < IN_FLIGHT) {
        const file = toRead[next] as WalkedFile;
        toRead[next] = null;
        const id = next++;
        outstanding++;
        const abs = absolutePath(root, file.rel);
        void pool.read({ id, abs, rel: file.rel, size: file.size, mtime: file.mtime, lrc: file.lrc }).then(
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
    let pending: Read[] = [];
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
        const stored = storeBatchArtwork(ctx, batch, art);
        queued += 1;
        writing = writing.then(async () => {
          const ta = performance.now();
          const artwork = await stored;
          addTime(ctx, 'artwork', performance.now() - ta);
          if (signal.aborted) return;
          const tw = performance.now();
          await moves.ready();
          await writeBatch(ctx, root, batch, artwork, moves);
          const ms = performance.now() - tw;
          addTime(ctx, 'write', ms);
          const perRow = ms / Math.max(1, batch.length);
          if (batch.length >= BATCH_MIN / 2)
            batchRows = Math.round(Math.min(BATCH_MAX, Math.max(BATCH_MIN, WRITE_BUDGET_MS / perRow)));
          queued -= 1;
          heap.check();
          ctx.publish();
          await yieldNow();
        });
        writing.catch(() => undefined); // failures surface where the chain is awaited
        if (queued >= WRITES_AHEAD) await writing;
      }
    }
    await writing;
    if (readFailure) throw readFailure;
  } finally {
    await writing.catch(() => undefined); // never leave a write running under the caller's clean-up
    await pool.close();
  }
}

/**
 * Collects the main heap when the read phase's garbage grew it enough (see HEAP_SLACK_MIN). It
 * collects once as the phase starts, too: the walk's and the diff's garbage (Stats, Dirents,
 * listings) still filled the heap then, so the first cycle's threshold sat that much higher, and
 * V8 keeps the pages a heap grew to — the main heap's total stayed ~50 MB through a 50,000-file
 * read phase whose live part was ~30 MB (bench/README.md, "Scan memory and speed, scan5").
 * Only for reads of COLLECT_FIRST_MIN files or more: a watcher's rescan of a few new files grows
 * the heap little, and the collection is a 10–40 ms pause of the event loop.
 */
class HeapGuard {
  private limit: number;

  constructor(collectFirst: boolean) {
    if (collectFirst) collectGarbage();
    this.limit = this.after(getHeapStatistics().used_heap_size);
  }

  check(): void {
    if (getHeapStatistics().used_heap_size < this.limit) return;
    if (collectGarbage()) this.limit = this.after(getHeapStatistics().used_heap_size);
    else this.limit = Number.POSITIVE_INFINITY; // this runtime does not allow it: V8 decides
  }

  private after(used: number): number {
    return used + Math.max(HEAP_SLACK_MIN, used / 4);
  }
}

/**
 * Missing tracks by content fingerprint and by duration + tags, each matched at most once. Their
 * hashes and tags are loaded when the first new file comes (most scans have no missing tracks, or
 * no new files).
 */
class MoveFinder {
  private byHash: Map<string, KnownTrack> | null = null;
  private readonly byTags = new Map<string, KnownTrack | null>();

  constructor(
    private readonly missing: Map<string, TrackStamp>,
    private readonly load: (ids: string[]) => Awaitable<KnownTrack[]>,
  ) {}

  /** Loads the missing tracks' hashes and tags before the first batch that may match them. */
  ready(): Awaitable<void> {
    if (this.byHash || this.missing.size === 0) return;
    const rows = this.load([...this.missing.values()].map((m) => m.id));
    if (rows instanceof Promise) return rows.then((r) => this.index(r));
    this.index(rows);
  }

  private index(rows: KnownTrack[]): void {
    const byHash = new Map<string, KnownTrack>();
    for (const t of rows) {
      if (t.content_hash) byHash.set(t.content_hash, t);
      const key = tagKey(t.duration, t.title, t.artist, t.album);
      this.byTags.set(key, this.byTags.has(key) ? null : t); // ambiguous → no tag match
    }
    this.byHash = byHash;
  }

  /** The missing track a new file is, if any (taken out of `missing`). */
  take(result: Extract<ReadResult, { ok: true }>): KnownTrack | undefined {
    if (this.missing.size === 0 || !this.byHash) return undefined; // ready() loads byHash first
    const t = result.tags;
    let moved = this.byHash.get(result.fingerprint);
    if (moved && !this.missing.has(moved.local_path)) moved = undefined; // already matched
    if (!moved) {
      const candidate = this.byTags.get(tagKey(t.duration, t.title, t.artists.join(', '), t.album));
      moved = candidate && this.missing.has(candidate.local_path) ? candidate : undefined;
    }
    if (moved) this.missing.delete(moved.local_path);
    return moved;
  }
}

function writeBatch(
  ctx: ScanContext,
  root: string,
  batch: Read[],
  artwork: BatchArtwork,
  moves: MoveFinder,
): Awaitable<void> {
  const p = ctx.progress;
  const insert: TrackWrite[] = [];
  const update: TrackWrite[] = [];
  const errors: { rel: string; reason: string; size: number; mtime: number }[] = [];
  const readOk: string[] = [];
  const { rows: artworkRows, folderIds } = artwork;
  for (const { file, result } of batch) {
    p.filesDone += 1;
    // The file changed while it was read (still being copied): leave it for a later scan. The
    // worker checks after its read; a result without the check (time budget, crashed reader) is
    // checked here.
    if (result.changed ?? changedSince(absolutePath(root, file.rel), file)) {
      p.deferred += 1;
      continue;
    }
    if (!result.ok) {
      p.unreadable += 1;
      errors.push({ rel: file.rel, reason: result.reason, size: file.size, mtime: file.mtime });
      ctx.log.debug({ path: file.rel, reason: result.reason }, 'unreadable file');
      continue;
    }
    readOk.push(file.rel);
    const hash = result.picture?.hash;
    const artworkId =
      hash && (ctx.repo.hasArtwork(hash) || artworkRows.has(hash)) ? hash : (folderIds.get(dirOf(file.rel)) ?? null);
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
    const existing = ctx.diff.ids.get(file.rel);
    const moved = existing !== undefined ? undefined : moves.take(result);
    if (existing !== undefined || moved) {
      write.id = existing ?? moved?.id ?? '';
      update.push(write);
      if (existing) p.updated += 1;
      else p.moved += 1;
    } else {
      write.id = scanId();
      insert.push(write);
      p.added += 1;
    }
  }
  // (artwork rows are 'insert or ignore': a folder image shown by several batches is fine)
  return ctx.repo.writeBatch({ insert, update, errors }, [...artworkRows.values()], readOk, ctx.options.clock.now());
}

/** The file's size or mtime differ from what the walk saw (it is being written). */
function changedSince(abs: string, file: WalkedFile): boolean {
  const after = statSync(abs, { throwIfNoEntry: false });
  return !after || after.size !== file.size || Math.trunc(after.mtimeMs) !== file.mtime;
}

function tagKey(duration: number | null, title: string, artist: string | null, album: string | null): string {
  return `${duration === null ? '?' : duration.toFixed(1)}\u001f${foldKey(title)}\u001f${foldKey(artist ?? '')}\u001f${foldKey(album ?? '')}`;
}
