/**
 * The walk's two system calls without the objects Node's public API builds around them: a
 * listing as two arrays (names, entry types) instead of a `Dirent` per entry, and a stat as the
 * numbers themselves instead of a `Stats` object with four `Date`s. At 50,000 files those objects,
 * their garbage and Node's library code around each call were ~20 % of a no-change rescan's walk,
 * more on a walk thread whose code is not warmed up yet (walk-thread.ts).
 *
 * The numbers come from Node's fs binding (`process.binding('fs')`: DEP0111 is documentation-only,
 * and `fs` is on its allow list; folder-handles.ts uses `fs_event_wrap` the same way). It is used
 * only when it answers exactly as `fs.statSync` / `fs.readdirSync` do on the root of the walk
 * ({@link rawFs} checks); otherwise, and on a runtime that refuses it, the public API fills the
 * same shapes.
 */
import { constants, lstatSync, readdirSync, type Stats, statSync } from 'node:fs';

interface FsBinding {
  readdir(path: string, encoding: string, withFileTypes: boolean): [string[], number[]];
  stat(path: string, bigint: boolean, req: undefined, throwIfNoEntry: boolean): Float64Array | undefined;
}

// libuv's entry types (uv_dirent_type_t), which fs.constants carries (not all of them typed).
const uv = constants as unknown as Record<string, number | undefined>;
export const FILE = uv.UV_DIRENT_FILE ?? 1;
export const DIR = uv.UV_DIRENT_DIR ?? 2;
export const LINK = uv.UV_DIRENT_LINK ?? 3;
const UNKNOWN = uv.UV_DIRENT_UNKNOWN ?? 0;

/** What a stat tells the walk. */
export interface FileStat {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  isFile: boolean;
  isDirectory: boolean;
}

export interface RawFs {
  /** Names and entry types (`FILE`, `DIR`, `LINK`, other) of a folder; throws as `readdirSync`. */
  list(path: string): { names: string[]; types: number[] };
  /**
   * Stat (following links) into `into`; false when the path does not exist. Other errors throw,
   * as `statSync(…, { throwIfNoEntry: false })` does.
   */
  stat(path: string, into: FileStat): boolean;
}

// Node's stat array (src/node_file.h FillStatsArray): mode, size, mtime and ctime as seconds + ns.
const MODE = 1;
const SIZE = 8;
const MTIME_S = 12;
const MTIME_NS = 13;
const CTIME_S = 14;
const CTIME_NS = 15;
const S_IFMT = 0o170000;

function typeOf(st: Stats): number {
  return st.isFile() ? FILE : st.isDirectory() ? DIR : st.isSymbolicLink() ? LINK : UNKNOWN;
}

const publicFs: RawFs = {
  list(path) {
    const names: string[] = [];
    const types: number[] = [];
    for (const d of readdirSync(path, { withFileTypes: true })) {
      names.push(d.name);
      types.push(d.isFile() ? FILE : d.isDirectory() ? DIR : d.isSymbolicLink() ? LINK : UNKNOWN);
    }
    return { names, types };
  },
  stat(path, into) {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return false;
    into.size = st.size;
    into.mtimeMs = st.mtimeMs;
    into.ctimeMs = st.ctimeMs;
    into.isFile = st.isFile();
    into.isDirectory = st.isDirectory();
    return true;
  },
};

function bindingFs(b: FsBinding): RawFs {
  return {
    list(path) {
      const [names, types] = b.readdir(path, 'utf8', true);
      // A file system that does not say (d_type unknown): lstat, as Node's Dirent does.
      for (let i = 0; i < types.length; i++) {
        if (types[i] === UNKNOWN) {
          const st = lstatSync(`${path}/${names[i]}`, { throwIfNoEntry: false });
          if (st) types[i] = typeOf(st);
        }
      }
      return { names, types };
    },
    stat(path, into) {
      const v = b.stat(path, false, undefined, false);
      if (v === undefined) return false;
      into.size = v[SIZE];
      into.mtimeMs = v[MTIME_S] * 1e3 + v[MTIME_NS] / 1e6;
      into.ctimeMs = v[CTIME_S] * 1e3 + v[CTIME_NS] / 1e6;
      const fmt = v[MODE] & S_IFMT;
      into.isFile = fmt === constants.S_IFREG;
      into.isDirectory = fmt === constants.S_IFDIR;
      return true;
    },
  };
}

export function newStat(): FileStat {
  return { size: 0, mtimeMs: 0, ctimeMs: 0, isFile: false, isDirectory: false };
}

/**
 * Whether this Node's fs binding throws its errors itself when called without a request object
 * (nodejs/node#49593 and #50131, autumn 2023: every 22.x has them, and 20.20, where this was
 * measured; earlier 20.x releases are not assumed to). Before them a synchronous call needed a
 * context argument, and the three-argument `readdir` above would stop the process on a C++ check
 * rather than throw, which no probe could catch.
 */
export function bindingThrows(version = process.versions.node): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major >= 22 || (major === 20 && minor >= 20);
}

/**
 * The binding's calls when they give what the public API gives for folder `probe` (its listing and
 * its stat, and a missing path), else the public API.
 */
export function rawFs(probe: string): RawFs {
  if (!bindingThrows()) return publicFs;
  let b: FsBinding;
  try {
    b = (process as unknown as { binding(name: string): FsBinding }).binding('fs');
    if (typeof b.readdir !== 'function' || typeof b.stat !== 'function') return publicFs;
    const fast = bindingFs(b);
    const a = fast.list(probe);
    const p = publicFs.list(probe);
    if (a.names.length !== p.names.length || a.names.some((n, i) => n !== p.names[i] || a.types[i] !== p.types[i]))
      return publicFs;
    const x = newStat();
    const y = newStat();
    if (!fast.stat(probe, x) || !publicFs.stat(probe, y)) return publicFs;
    if (x.size !== y.size || x.mtimeMs !== y.mtimeMs || x.ctimeMs !== y.ctimeMs || x.isDirectory !== y.isDirectory)
      return publicFs;
    if (fast.stat(`${probe}/.earshot-no-such-file-${process.pid}`, x)) return publicFs;
    return fast;
  } catch {
    return publicFs;
  }
}

/** The public API's version, for tests that compare the two. */
export const publicRawFs: RawFs = publicFs;
