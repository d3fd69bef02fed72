/**
 * The walk on a thread of its own (`walk-worker.ts`), so that the main thread reads the tracks'
 * stamps from the database meanwhile (a no-change rescan is the walk plus that read: one after the
 * other they were ~0.5 + ~0.18 s at 50,000 files on 2 cores) and stays free for HTTP during the
 * walk. The thread runs the same {@link walkLibrary} and hands its result back packed (one string of
 * paths, the sizes and times in transferred typed arrays): 50,000 `WalkedFile` objects cloned one by
 * one cost more than they save. {@link packWalk} / {@link unpackWalk} are exact inverses
 * (`walk-thread.test.ts`), so the threaded walk gives the same result as the inline one.
 */
import { realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../../shared/worker-entry.js';
import { emptyWalk, type WalkedFile, type WalkResult, walkFolder, walker, walkTree } from './walk.js';

export interface WalkRequest {
  realRoot: string;
  /** The folders to share (relative); each is walked whole by whoever takes it. */
  shares: string[];
  /** Per share: who took it (see {@link takeShare}). */
  owners: Int32Array;
  /** This thread's number in `owners`. */
  me: number;
}

/** A {@link WalkResult} in a few transferable parts. */
export interface PackedWalk {
  /** The files' relative paths joined by NUL (a byte no file name holds). */
  rels: string;
  sizes: Float64Array;
  mtimes: Float64Array;
  /** Indexes of the files with a sidecar, and the sidecars' paths. */
  lrcIndex: number[];
  lrcPath: string[];
  artDirs: string[];
  artPaths: string[];
  changedDirs: string[];
  changedAt: Float64Array;
  skipped: WalkResult['skipped'];
}

export type WalkReply = { ok: true; walk: PackedWalk } | { ok: false; error: string };

export function packWalk(w: WalkResult): PackedWalk {
  const n = w.files.length;
  const rels = new Array<string>(n);
  const sizes = new Float64Array(n);
  const mtimes = new Float64Array(n);
  const lrcIndex: number[] = [];
  const lrcPath: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = w.files[i];
    rels[i] = f.rel;
    sizes[i] = f.size;
    mtimes[i] = f.mtime;
    if (f.lrc !== null) {
      lrcIndex.push(i);
      lrcPath.push(f.lrc);
    }
  }
  return {
    rels: rels.join('\0'),
    sizes,
    mtimes,
    lrcIndex,
    lrcPath,
    artDirs: [...w.folderArt.keys()],
    artPaths: [...w.folderArt.values()],
    changedDirs: [...w.dirChanged.keys()],
    changedAt: Float64Array.from(w.dirChanged.values()),
    skipped: w.skipped,
  };
}

export function unpackWalk(p: PackedWalk): WalkResult {
  const n = p.sizes.length;
  const rels = n === 0 ? [] : p.rels.split('\0');
  const files = new Array<WalkedFile>(n);
  for (let i = 0; i < n; i++) files[i] = { rel: rels[i], size: p.sizes[i], mtime: p.mtimes[i], lrc: null };
  for (let i = 0; i < p.lrcIndex.length; i++) files[p.lrcIndex[i]].lrc = p.lrcPath[i];
  const folderArt = new Map<string, string>();
  for (let i = 0; i < p.artDirs.length; i++) folderArt.set(p.artDirs[i], p.artPaths[i]);
  const dirChanged = new Map<string, number>();
  for (let i = 0; i < p.changedDirs.length; i++) dirChanged.set(p.changedDirs[i], p.changedAt[i]);
  return { files, folderArt, dirChanged, skipped: p.skipped };
}

/** Folders taken by nobody yet; otherwise the taker's number (this thread: 1, thread k: k + 2). */
const FREE = 0;
const MAIN = 1;
/** The first levels are walked here until there are this many folders to share. */
const MIN_SHARES = 16;

/**
 * Takes the next free folder of `shares` for `me` (a compare-and-swap per folder, so every folder
 * is walked once and who walked it is known). Returns -1 when none is left.
 */
export function takeShare(owners: Int32Array, me: number, from: number): number {
  for (let i = from; i < owners.length; i++) if (Atomics.compareExchange(owners, i, FREE, me) === FREE) return i;
  return -1;
}

/** How many threads walk beside the main thread: one on 2 cores, two on 4 or more. */
export function walkThreads(): number {
  return Math.max(1, Math.min(2, availableParallelism() - 1));
}

export interface SharedWalkOptions {
  /** Threads beside this one (default {@link walkThreads}). */
  threads?: number;
  /** Whether this thread takes folders too (tests turn it off to see the threads' results). */
  mainWalks?: boolean;
  /** Counts the folders whose result came from a thread. */
  stats?: { byThreads: number };
}

/**
 * The whole-library walk (as {@link walkLibrary} with no folders) shared between this thread and
 * {@link walkThreads} worker threads, with `beside` run here first (the diff's stamp read, while
 * the threads start and walk). The first levels are listed here until there are at least
 * {@link MIN_SHARES} folders; then each thread, and this one once `beside` is done, takes folders
 * one at a time and walks them whole. A thread that does not start or dies loses nothing: the
 * folders it took are walked here. The files come in another order than the inline walk's.
 */
export async function walkShared(
  root: string,
  signal: AbortSignal | undefined,
  beside: () => Promise<void>,
  options: SharedWalkOptions = {},
): Promise<WalkResult> {
  const { threads: threadCount = walkThreads(), mainWalks = true, stats } = options;
  const realRoot = realpathSync(root);
  const out = emptyWalk();
  const w = walker(realRoot);
  let shares = [''];
  for (let depth = 0; depth < 3 && shares.length > 0 && shares.length < MIN_SHARES; depth++) {
    const next: string[] = [];
    for (const dir of shares) await walkFolder(w, dir, next, out);
    shares = next;
  }
  if (shares.length === 0) {
    await beside();
    return out;
  }
  const owners = new Int32Array(new SharedArrayBuffer(4 * shares.length));
  const threads = Array.from({ length: threadCount }, (_, k) => startWalker(realRoot, shares, owners, k + 2));
  try {
    await beside();
    for (let i = mainWalks ? takeShare(owners, MAIN, 0) : -1; i >= 0; i = takeShare(owners, MAIN, i + 1)) {
      await walkTree(w, [shares[i]], out, signal);
    }
    for (const thread of threads) {
      const me = thread.me;
      // It took nothing and nothing is left (it started after the work was done): not waited for.
      if (!owners.includes(me) && !owners.includes(FREE)) continue;
      const reply = await untilStopped(thread.result, signal);
      if (reply.ok) {
        merge(out, unpackWalk(reply.walk));
        if (stats) stats.byThreads += owners.filter((o) => o === me).length;
        continue;
      }
      // The thread failed: what it took is walked again here (its partial result is not used).
      for (let i = 0; i < shares.length; i++) if (owners[i] === me) await walkTree(w, [shares[i]], out, signal);
    }
    // Left by threads that failed before taking them (only when this thread does not walk).
    for (let i = takeShare(owners, MAIN, 0); i >= 0; i = takeShare(owners, MAIN, i + 1)) {
      await walkTree(w, [shares[i]], out, signal);
    }
  } finally {
    for (const thread of threads) void thread.worker.terminate();
  }
  return out;
}

/** `promise`, or the stop's reason once `signal` aborts (the thread is terminated then). */
function untilStopped<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then((value) => {
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    });
  });
}

function merge(into: WalkResult, from: WalkResult): void {
  for (const f of from.files) into.files.push(f);
  for (const [dir, path] of from.folderArt) into.folderArt.set(dir, path);
  for (const [dir, at] of from.dirChanged) into.dirChanged.set(dir, at);
  for (const s of from.skipped) into.skipped.push(s);
}

interface Walker {
  me: number;
  worker: Worker;
  /** The thread's walk, or an error (it never rejects). */
  result: Promise<WalkReply>;
}

function startWalker(realRoot: string, shares: string[], owners: Int32Array, me: number): Walker {
  const entry = workerEntry('library/scan/walk-worker');
  let worker: Worker;
  try {
    worker = new Worker(entry.script, {
      eval: entry.eval,
      execArgv: entry.execArgv,
      workerData: { realRoot, shares, owners, me } satisfies WalkRequest,
      stdout: false,
      stderr: false,
    });
  } catch (err) {
    // Cannot start (no worker threads here): it takes nothing, this thread walks everything.
    const failed = { terminate: async () => 0 } as unknown as Worker;
    return { me, worker: failed, result: Promise.resolve({ ok: false, error: String(err) }) };
  }
  const result = new Promise<WalkReply>((resolve) => {
    worker.once('message', (reply: WalkReply) => resolve(reply));
    worker.once('error', (err) => resolve({ ok: false, error: err.message }));
    worker.once('exit', (code) => resolve({ ok: false, error: `the walk's thread ended (code ${code})` }));
  });
  return { me, worker, result };
}
