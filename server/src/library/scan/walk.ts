/**
 * Scan phase `walk`: list the music folder (or, for a folder-scoped scan, only the given folders). Synchronous fs calls (a few µs each, vs ~100 µs for a
 * promise round-trip) in slices, yielding to the event loop between slices so HTTP stays responsive.
 *
 * Security (scanner.test.ts, walk.test.ts): symlinks are resolved and anything outside the music root is skipped;
 * symlinked folders are never followed (a target outside the root is an escape, one inside it is
 * already walked), so the walk cannot reach /etc, the database or loop forever.
 */
import { type Dirent, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { extname, join, sep } from 'node:path';
import { Invalid } from '../../shared/errors.js';
import { AUDIO_EXTENSIONS, FOLDER_ART, folderArtRank } from '../tags.js';
import type { ScanContext } from './context.js';

export interface WalkedFile {
  rel: string;
  abs: string;
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
    const absDir = relDir === '' ? realRoot : join(realRoot, relDir);
    let entries: Dirent[];
    try {
      entries = readdirSync(absDir, { withFileTypes: true });
    } catch (err) {
      skipped.push({ rel: relDir, reason: `folder unreadable: ${(err as NodeJS.ErrnoException).code ?? 'error'}` });
      continue;
    }
    const lrcs = new Set<string>();
    const audio: { name: string; abs: string; size: number; mtime: number }[] = [];
    let art: string | null = null;
    for (const entry of entries) {
      const name = entry.name;
      if (name.startsWith('.')) continue; // hidden files, our own temp files, .Trash
      const abs = join(absDir, name);
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      if (entry.isDirectory()) {
        stack.push(rel);
        continue;
      }
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
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
      const ext = extname(name).toLowerCase();
      if (ext === '.lrc') lrcs.add(name.slice(0, -4));
      else if (AUDIO_EXTENSIONS.has(ext)) {
        const st = statSync(abs, { throwIfNoEntry: false });
        if (st?.isFile()) audio.push({ name, abs, size: st.size, mtime: Math.trunc(st.mtimeMs) });
      } else if (FOLDER_ART.test(name)) {
        if (art === null || folderArtRank(name) < folderArtRank(art)) art = name;
      }
      if (++work % 512 === 0) await yieldNow();
    }
    if (art) folderArt.set(relDir, join(absDir, art));
    if (audio.length > 0) {
      let changed = statSync(absDir, { throwIfNoEntry: false })?.mtimeMs ?? 0;
      if (art) {
        const st = statSync(join(absDir, art), { throwIfNoEntry: false });
        if (st) changed = Math.max(changed, st.mtimeMs, st.ctimeMs);
      }
      dirChanged.set(relDir, Math.trunc(changed));
    }
    for (const a of audio) {
      const stem = a.name.slice(0, a.name.length - extname(a.name).length);
      files.push({
        rel: relDir === '' ? a.name : `${relDir}/${a.name}`,
        abs: a.abs,
        size: a.size,
        mtime: a.mtime,
        lrc: lrcs.has(stem) ? join(absDir, `${stem}.lrc`) : null,
      });
    }
    if (++work % 64 === 0) await yieldNow();
  }
  return { files, folderArt, dirChanged, skipped };
}

export function dirOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}
