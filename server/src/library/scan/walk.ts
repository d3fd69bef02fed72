/**
 * Scan phase `walk`: list the music folder (or, for a folder-scoped scan, only the given folders). Synchronous fs calls (a few µs each, vs ~100 µs for a
 * promise round-trip) in slices, yielding to the event loop between slices so HTTP stays responsive.
 *
 * Security (scanner.test.ts, walk.test.ts): symlinks are resolved and anything outside the music root is skipped;
 * symlinked folders are never followed (a target outside the root is an escape, one inside it is
 * already walked), so the walk cannot reach /etc, the database or loop forever.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, sep } from 'node:path';
import { Invalid } from '../../shared/errors.js';
import { AUDIO_EXTENSIONS, FOLDER_ART, folderArtRank } from '../tags.js';
import type { ScanContext } from './context.js';
import { DIR, FILE, type FileStat, LINK, newStat, type RawFs, rawFs } from './raw-fs.js';
import { walkShared } from './walk-thread.js';

/**
 * One audio file. Its absolute path is not kept ({@link absolutePath} builds it when it is read):
 * a flattened copy of every path was ~5 MB of the main heap through a 50,000-file scan.
 */
export interface WalkedFile {
  /** Relative to the music folder's real path, `/`-separated. */
  rel: string;
  size: number;
  mtime: number;
  /** Absolute path of a sidecar `.lrc` with the same stem, when there is one. */
  lrc: string | null;
}

export interface WalkResult {
  files: WalkedFile[];
  /** Directory (relative, '' for the root) → absolute path of its best cover/folder/front image. */
  folderArt: Map<string, string>;
  /**
   * Directory with audio files → when its entries or its folder image last changed (ms): the
   * later of the folder's mtime (an entry added, removed or renamed) and the image's mtime/ctime
   * (overwritten in place; ctime also catches a copy that preserved an old mtime).
   */
  dirChanged: Map<string, number>;
  skipped: { rel: string; reason: string }[];
}

const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The walk phase: fills `ctx.walked` and `filesFound`. A whole-library walk is shared with a
 * thread (walk-thread.ts) when a core is free for it, and this thread reads what the diff compares
 * with (`ctx.stamps`) meanwhile; a folder-scoped walk (the watcher's: a few folders) is shorter
 * than a thread's start and runs here.
 */
export async function walkPhase(ctx: ScanContext): Promise<void> {
  const { musicDir } = ctx.options;
  const st = statSync(musicDir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new Invalid(`The music folder ${musicDir} does not exist.`);
  ctx.walked =
    ctx.folders === null && coreFree() ? await walkBeside(ctx) : await walkLibrary(musicDir, ctx.signal, ctx.folders);
  ctx.progress.filesFound = ctx.walked.files.length;
  for (const s of ctx.walked.skipped) ctx.log.warn({ path: s.rel, reason: s.reason }, 'skipped during walk');
}

/**
 * Whether a walk thread is likely to find a core: the system calls scale over cores, but on a
 * busy machine the thread's start (~60 ms of CPU), its code not yet optimised and the hand-over
 * cost more than it takes over. On 2 cores the thread won at a 1-minute load average of ~2 (which
 * counts this process's own recent work, e.g. the scan before) and lost at 5–7; so up to the cores
 * + 1 (bench/README.md, "No-change rescan, rescan6").
 */
function coreFree(): boolean {
  const cores = availableParallelism();
  return cores >= 2 && loadavg()[0] < cores + 1;
}

/**
 * The whole-library walk shared with a thread (walk-thread.ts), this thread reading the diff's
 * stamps first and then taking folders too.
 */
async function walkBeside(ctx: ScanContext): Promise<WalkResult> {
  return walkShared(ctx.options.musicDir, ctx.signal, async () => {
    ctx.stamps = { known: await ctx.repo.localTrackStamps(), errors: await ctx.repo.scanErrors() };
  });
}

/** `rel` (a walked file's) under the music folder's real path `root`. */
export function absolutePath(root: string, rel: string): string {
  return sep === '/' ? (root.endsWith('/') ? root + rel : `${root}/${rel}`) : join(root, rel);
}

export function isInside(root: string, target: string): boolean {
  return target === root || target.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Lists audio files, sidecars and folder images under `root`, or only under `folders` (relative,
 * normalised): a listed folder that is gone, is a symlink or lies behind one is not walked (the
 * whole-library walk never follows symlinked folders either).
 */
export async function walkLibrary(
  root: string,
  signal?: AbortSignal,
  folders: string[] | null = null,
): Promise<WalkResult> {
  const realRoot = realpathSync(root);
  const out = emptyWalk();
  const stack: string[] = [];
  for (const rel of folders ?? ['']) {
    if (rel === '') {
      stack.push(rel);
      continue;
    }
    const abs = join(realRoot, rel);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) continue; // removed: its tracks are missing, which the diff sees
    let real: string | null = null;
    try {
      real = realpathSync(abs);
    } catch {
      real = null;
    }
    if (st.isSymbolicLink() || real !== abs) out.skipped.push({ rel, reason: 'symlinked folder (not followed)' });
    else if (st.isDirectory()) stack.push(rel);
  }
  await walkTree(walker(realRoot), stack, out, signal);
  return out;
}

export function emptyWalk(): WalkResult {
  return { files: [], folderArt: new Map(), dirChanged: new Map(), skipped: [] };
}

/** One walk's tools: the root, the system calls (raw-fs.ts), a stat buffer, the work count. */
export interface Walker {
  realRoot: string;
  fs: RawFs;
  st: FileStat;
  /** Entries and folders since the walk began (it yields every 512 entries and 64 folders). */
  work: number;
}

export function walker(realRoot: string): Walker {
  return { realRoot, fs: rawFs(realRoot), st: newStat(), work: 0 };
}

/**
 * Walks the folders on `stack` (relative to the real root) and everything below them into `out`,
 * yielding to the event loop every few hundred entries.
 */
export async function walkTree(w: Walker, stack: string[], out: WalkResult, signal?: AbortSignal): Promise<void> {
  while (stack.length > 0) {
    if (signal?.aborted) throw signal.reason;
    await walkFolder(w, stack.pop() as string, stack, out);
    if (++w.work % 64 === 0) await yieldNow();
  }
}

/**
 * Lists one folder (`relDir`, relative to the real root) into `out`: its audio files with their
 * sidecars, its folder image and when it changed; its subfolders go on `stack`. Yields every 512
 * entries, so a folder of 100,000 files does not hold the event loop either.
 */
export async function walkFolder(w: Walker, relDir: string, stack: string[], out: WalkResult): Promise<void> {
  const { realRoot, fs, st } = w;
  const { files, skipped } = out;
  const absDir = relDir === '' ? realRoot : absolutePath(realRoot, relDir);
  let names: string[];
  let types: number[];
  try {
    ({ names, types } = fs.list(absDir));
  } catch (err) {
    skipped.push({ rel: relDir, reason: `folder unreadable: ${(err as NodeJS.ErrnoException).code ?? 'error'}` });
    return;
  }
  // Paths are built by concatenation (absDir is real, names have no separator): path.join
  // normalises every string, which was a tenth of a rescan's walk.
  const prefix = absDir.endsWith(sep) ? absDir : absDir + sep;
  const relPrefix = relDir === '' ? '' : `${relDir}/`;
  const first = files.length;
  let lrcs: Set<string> | null = null;
  let art: string | null = null;
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name.charCodeAt(0) === 46) continue; // '.': hidden files, our own temp files, .Trash
    const type = types[i];
    if (type === DIR) {
      stack.push(relPrefix + name);
      continue;
    }
    const abs = prefix + name;
    let isFile = type === FILE;
    if (type === LINK) {
      const rel = relPrefix + name;
      let target: string;
      try {
        target = realpathSync(abs);
      } catch {
        skipped.push({ rel, reason: 'broken symlink' });
        continue;
      }
      if (!isInside(realRoot, target)) {
        skipped.push({ rel, reason: 'symlink points outside the music folder' });
        continue;
      }
      if (!fs.stat(target, st) || st.isDirectory) {
        if (st.isDirectory) skipped.push({ rel, reason: 'symlinked folder (not followed)' });
        continue;
      }
      isFile = st.isFile;
    }
    if (!isFile) continue;
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 ? name.slice(dot).toLowerCase() : '';
    if (ext === '.lrc') {
      lrcs ??= new Set();
      lrcs.add(name.slice(0, dot));
    } else if (AUDIO_EXTENSIONS.has(ext)) {
      if (fs.stat(abs, st) && st.isFile)
        files.push({ rel: relPrefix + name, size: st.size, mtime: Math.trunc(st.mtimeMs), lrc: null });
    } else if (FOLDER_ART.test(name)) {
      if (art === null || folderArtRank(name) < folderArtRank(art)) art = name;
    }
    if (++w.work % 512 === 0) await yieldNow();
  }
  if (art) out.folderArt.set(relDir, prefix + art);
  if (files.length > first) {
    let changed = fs.stat(absDir, st) ? st.mtimeMs : 0;
    if (art && fs.stat(prefix + art, st)) changed = Math.max(changed, st.mtimeMs, st.ctimeMs);
    out.dirChanged.set(relDir, Math.trunc(changed));
  }
  if (lrcs !== null) {
    // Sidecars: `Song.lrc` beside `Song.mp3` (the names are listed in any order).
    for (let i = first; i < files.length; i++) {
      const f = files[i];
      const name = f.rel.slice(relPrefix.length);
      const stem = name.slice(0, name.lastIndexOf('.'));
      if (lrcs.has(stem)) f.lrc = `${prefix}${stem}.lrc`;
    }
  }
}

export function dirOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}
