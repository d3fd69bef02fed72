/**
 * Scan phase `walk`: list the music folder (or, for a folder-scoped scan, only the given folders). Synchronous fs calls (a few µs each, vs ~100 µs for a
 * promise round-trip) in slices, yielding to the event loop between slices so HTTP stays responsive.
 *
 * Security (scanner.test.ts, walk.test.ts): symlinks are resolved and anything outside the music root is skipped;
 * symlinked folders are never followed (a target outside the root is an escape, one inside it is
 * already walked), so the walk cannot reach /etc, the database or loop forever.
 */
import { type Dirent, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { Invalid } from '../../shared/errors.js';
import { AUDIO_EXTENSIONS, FOLDER_ART, folderArtRank } from '../tags.js';
import type { ScanContext } from './context.js';

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

/** The walk phase: fills `ctx.walked` and `filesFound`. */
export async function walkPhase(ctx: ScanContext): Promise<void> {
  const { musicDir } = ctx.options;
  const st = statSync(musicDir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new Invalid(`The music folder ${musicDir} does not exist.`);
  ctx.walked = await walkLibrary(musicDir, ctx.signal, ctx.folders);
  ctx.progress.filesFound = ctx.walked.files.length;
  for (const s of ctx.walked.skipped) ctx.log.warn({ path: s.rel, reason: s.reason }, 'skipped during walk');
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
  const files: WalkedFile[] = [];
  const folderArt = new Map<string, string>();
  const dirChanged = new Map<string, number>();
  const skipped: { rel: string; reason: string }[] = [];
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
    if (st.isSymbolicLink() || real !== abs) skipped.push({ rel, reason: 'symlinked folder (not followed)' });
    else if (st.isDirectory()) stack.push(rel);
  }
  let work = 0;
  while (stack.length > 0) {
    if (signal?.aborted) throw signal.reason;
    const relDir = stack.pop() as string;
    const absDir = relDir === '' ? realRoot : absolutePath(realRoot, relDir);
    let entries: Dirent[];
    try {
      entries = readdirSync(absDir, { withFileTypes: true });
    } catch (err) {
      skipped.push({ rel: relDir, reason: `folder unreadable: ${(err as NodeJS.ErrnoException).code ?? 'error'}` });
      continue;
    }
    // Paths are built by concatenation (absDir is real, names have no separator): path.join
    // normalises every string, which was a tenth of a rescan's walk.
    const prefix = absDir.endsWith(sep) ? absDir : absDir + sep;
    const relPrefix = relDir === '' ? '' : `${relDir}/`;
    const first = files.length;
    let lrcs: Set<string> | null = null;
    let art: string | null = null;
    for (const entry of entries) {
      const name = entry.name;
      if (name.charCodeAt(0) === 46) continue; // '.': hidden files, our own temp files, .Trash
      if (entry.isDirectory()) {
        stack.push(relPrefix + name);
        continue;
      }
      const abs = prefix + name;
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
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
        const st = statSync(target, { throwIfNoEntry: false });
        if (!st || st.isDirectory()) {
          if (st) skipped.push({ rel, reason: 'symlinked folder (not followed)' });
          continue;
        }
        isFile = st.isFile();
      }
      if (!isFile) continue;
      const dot = name.lastIndexOf('.');
      const ext = dot > 0 ? name.slice(dot).toLowerCase() : '';
      if (ext === '.lrc') {
        lrcs ??= new Set();
        lrcs.add(name.slice(0, dot));
      } else if (AUDIO_EXTENSIONS.has(ext)) {
        const st = statSync(abs, { throwIfNoEntry: false });
        if (st?.isFile())
          files.push({ rel: relPrefix + name, size: st.size, mtime: Math.trunc(st.mtimeMs), lrc: null });
      } else if (FOLDER_ART.test(name)) {
        if (art === null || folderArtRank(name) < folderArtRank(art)) art = name;
      }
      if (++work % 512 === 0) await yieldNow();
    }
    if (art) folderArt.set(relDir, prefix + art);
    if (files.length > first) {
      let changed = statSync(absDir, { throwIfNoEntry: false })?.mtimeMs ?? 0;
      if (art) {
        const st = statSync(prefix + art, { throwIfNoEntry: false });
        if (st) changed = Math.max(changed, st.mtimeMs, st.ctimeMs);
      }
      dirChanged.set(relDir, Math.trunc(changed));
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
    if (++work % 64 === 0) await yieldNow();
  }
  return { files, folderArt, dirChanged, skipped };
}

export function dirOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}
