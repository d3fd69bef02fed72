/**
 * Content-addressed original artwork: `<artworkDir>/<ab>/<sha256>.<ext>`, written atomically, one
 * file per distinct image however many tracks or folders carry it. The `artwork` row's id is the
 * hash; its `path` is relative to the cache dir (the Streaming area resizes and serves it).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sha256 } from '../shared/ids.js';
import { writeFileAtomic } from '../shared/atomic-file.js';

const MAX_FOLDER_IMAGE = 16 * 1024 * 1024;

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

  constructor(
    private readonly artworkDir: string,
    private readonly cacheDir: string,
  ) {}

  clear(): void {
    this.folderCache.clear();
  }

  /** Writes the image if its hash is new; returns the row to insert, or null for non-images. */
  async store(hash: string, data: Uint8Array, source: 'embedded' | 'file'): Promise<StoredArtwork | null> {
    const mime = sniffImage(data);
    if (!mime) return null;
    const abs = join(this.artworkDir, hash.slice(0, 2), `${hash}.${EXT[mime] ?? 'img'}`);
    if (!existsSync(abs)) await writeFileAtomic(abs, data);
    return { id: hash, path: relative(this.cacheDir, abs), mime, size: data.length, source };
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
