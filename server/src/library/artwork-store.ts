/**
 * Content-addressed original artwork: `<artworkDir>/<ab>/<sha256>.<ext>`, written atomically, one
 * file per distinct image however many tracks or folders carry it. The `artwork` row's id is the
 * hash; its `path` is relative to the cache dir (the Streaming area resizes and serves it).
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { isInside } from './scan/walk.js';
import { sha256 } from '../shared/ids.js';
import { tempPathFor } from '../shared/atomic-file.js';

const MAX_FOLDER_IMAGE = 16 * 1024 * 1024;
/** A file without a row younger than this may be one another writer is about to insert. */
export const ORPHAN_GRACE_MS = 60 * 60 * 1000;
const CONTENT_NAME = /^[0-9a-f]{64}\.[a-z]{3,4}$/;

const EXT: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/jpg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/bmp': 'bmp',
};

export interface StoredArtwork {
  id: string;
  path: string;
  mime: string;
  size: number;
  source: 'embedded' | 'file';
}

/** Sniffs the real type from the bytes (tags and file names lie). */
export function sniffImage(data: Uint8Array): string | null {
  if (data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  if (data[0] === 0x89 && data[1] === 0x50 && data[2] === 0x4e && data[3] === 0x47) return 'image/png';
  if (
    data.length > 12 &&
    Buffer.from(data.subarray(0, 4)).toString('latin1') === 'RIFF' &&
    Buffer.from(data.subarray(8, 12)).toString('latin1') === 'WEBP'
  )
    return 'image/webp';
  if (Buffer.from(data.subarray(0, 3)).toString('latin1') === 'GIF') return 'image/gif';
  if (data[0] === 0x42 && data[1] === 0x4d) return 'image/bmp';
  return null;
}

export class ArtworkStore {
  /** Folder image path + size + mtime → artwork id (or null when not an image). */
  private readonly folderCache = new Map<string, string | null>();
  /** Shard folders known to exist (this scan). */
  private readonly dirs = new Set<string>();

  constructor(
    private readonly artworkDir: string,
    private readonly cacheDir: string,
  ) {}

  clear(): void {
    this.folderCache.clear();
    this.dirs.clear();
  }

  /**
   * Atomic against a crash of the process (temp file + rename), but not fsynced: artwork is
   * derived from the music files, and an fsync per image (~5 ms here) cost more than the rest of
   * the scan put together. A file a power cut left short is caught by the next full scan
   * ({@link verify}), which drops its row so the picture is stored again.
   */
  private async write(abs: string, data: Uint8Array): Promise<void> {
    const dir = dirname(abs);
    if (!this.dirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.dirs.add(dir);
    }
    const tmp = tempPathFor(abs);
    try {
      await writeFile(tmp, data);
      await rename(tmp, abs);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** Rows whose file is missing or has the wrong size (see {@link write}). */
  verify(rows: { id: string; path: string; size: number }[]): string[] {
    const bad: string[] = [];
    for (const row of rows) {
      const st = statSync(resolve(this.cacheDir, row.path), { throwIfNoEntry: false });
      if (!st || st.size !== row.size) bad.push(row.id);
    }
    return bad;
  }

  /** Deletes artwork files (paths relative to the cache dir); already gone is fine. */
  async remove(paths: string[]): Promise<void> {
    for (const rel of paths) {
      const abs = resolve(this.cacheDir, rel);
      if (!isInside(this.artworkDir, abs)) continue; // rows only ever point inside; never trust that blindly
      await rm(abs, { force: true });
    }
  }

  /**
   * Deletes content-addressed files (`ab/<sha256>.<ext>`) that no artwork row points to, and
   * stale temp files of interrupted writes. Only files older than {@link ORPHAN_GRACE_MS}: another
   * writer (remote thumbnails) writes the file before it inserts the row.
   */
  async sweepOrphans(known: Set<string>, now = Date.now()): Promise<number> {
    let removed = 0;
    let shards: string[];
    try {
      shards = await readdir(this.artworkDir);
    } catch {
      return 0;
    }
    for (const shard of shards) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      const dir = join(this.artworkDir, shard);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        const ours = CONTENT_NAME.test(name) || (name.startsWith('.') && name.endsWith('.part'));
        if (!ours) continue;
        const abs = join(dir, name);
        if (known.has(relative(this.cacheDir, abs))) continue;
        const st = await stat(abs).catch(() => null);
        if (!st?.isFile() || now - st.mtimeMs < ORPHAN_GRACE_MS) continue;
        await rm(abs, { force: true });
        removed += 1;
      }
    }
    return removed;
  }

  /** Writes the image if its hash is new; returns the row to insert, or null for non-images. */
  async store(hash: string, data: Uint8Array, source: 'embedded' | 'file'): Promise<StoredArtwork | null> {
    const mime = sniffImage(data);
    if (!mime) return null;
    const abs = join(this.artworkDir, hash.slice(0, 2), `${hash}.${EXT[mime] ?? 'img'}`);
    if (statSync(abs, { throwIfNoEntry: false })?.size !== data.length) await this.write(abs, data);
    return { id: hash, path: relative(this.cacheDir, abs), mime, size: data.length, source };
  }

  /** The artwork id (content hash) a folder image would get; null when it is unusable. */
  folderImageId(abs: string): string | null {
    try {
      const st = statSync(abs);
      if (st.size === 0 || st.size > MAX_FOLDER_IMAGE) return null;
      const data = readFileSync(abs);
      return sniffImage(data) ? sha256(data) : null;
    } catch {
      return null;
    }
  }

  /** Reads a cover.jpg/folder.png/… once per (path, size, mtime) and stores it. */
  async storeFolderImage(
    abs: string,
    known: (id: string) => boolean,
  ): Promise<{ id: string | null; row: StoredArtwork | null }> {
    let key: string;
    try {
      const st = statSync(abs);
      if (st.size === 0 || st.size > MAX_FOLDER_IMAGE) return { id: null, row: null };
      key = `${abs}\u0000${st.size}\u0000${st.mtimeMs}`;
    } catch {
      return { id: null, row: null };
    }
    if (this.folderCache.has(key)) return { id: this.folderCache.get(key) ?? null, row: null };
    let data: Buffer;
    try {
      data = readFileSync(abs);
    } catch {
      return { id: null, row: null };
    }
    const hash = sha256(data);
    if (known(hash)) {
      this.folderCache.set(key, hash);
      return { id: hash, row: null };
    }
    const row = await this.store(hash, data, 'file');
    this.folderCache.set(key, row?.id ?? null);
    return { id: row?.id ?? null, row };
  }
}
