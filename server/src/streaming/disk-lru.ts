/**
 * A size-capped, least-recently-used cache of files in one directory (transcodes, resized
 * artwork). Entries enter only through {@link DiskLru.commit} — a finished temp file renamed
 * atomically (shared/atomic-file.ts) — so a partial output never appears under a final name.
 * Recency lives in memory and is seeded from file mtimes at start-up (hits touch the mtime), so
 * the order survives restarts well enough for a cache.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commitFile, tempPathFor } from '../shared/atomic-file.js';

const NAME = /^[A-Za-z0-9_-]+\.[a-z0-9]+$/;

export class DiskLru {
  /** name → size; Map iteration order is the recency order (oldest first). */
  private readonly entries = new Map<string, number>();
  private total = 0;

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
  ) {
    mkdirSync(dir, { recursive: true });
    const found: { name: string; size: number; mtime: number }[] = [];
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      // Leftovers of a crash mid-write (`.name.xxxx.part`) are garbage: remove them.
      if (!NAME.test(name)) {
        if (name.endsWith('.part')) rmSync(path, { force: true });
        continue;
      }
      try {
        const st = statSync(path);
        if (st.isFile()) found.push({ name, size: st.size, mtime: st.mtimeMs });
      } catch {
        // vanished between readdir and stat
      }
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const f of found) this.remember(f.name, f.size);
    this.evict();
  }

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  get sizeBytes(): number {
    return this.total;
  }

  get count(): number {
    return this.entries.size;
  }

  pathOf(name: string): string {
    if (!NAME.test(name)) throw new Error(`invalid cache entry name ${name}`);
    return join(this.dir, name);
  }

  /** Temp path for a new entry (same directory, so the commit rename is atomic). */
  tempFor(name: string): string {
    return tempPathFor(this.pathOf(name));
  }

  /** Path of a cached entry (marking it recently used), or null. */
  get(name: string): string | null {
    const size = this.entries.get(name);
    if (size === undefined) return null;
    this.entries.delete(name);
    this.entries.set(name, size);
    const path = this.pathOf(name);
    const now = new Date();
    utimes(path, now, now).catch(() => this.forget(name));
    return path;
  }

  /** The entry's file disappeared (deleted by hand): drop it from the index. */
  forget(name: string): void {
    const size = this.entries.get(name);
    if (size === undefined) return;
    this.entries.delete(name);
    this.total -= size;
  }

  /** Stores `data` as a new entry (temp file, fsync, rename), then evicts down to the cap. */
  async put(name: string, data: Uint8Array): Promise<string> {
    const tmp = this.tempFor(name);
    try {
      await writeFile(tmp, data, { flag: 'wx' });
      await this.commit(tmp, name, data.length);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return this.pathOf(name);
  }

  /** fsyncs and renames a finished temp file into the cache, then evicts down to the cap. */
  async commit(tmpPath: string, name: string, size: number): Promise<void> {
    if (!this.enabled || size > this.maxBytes) {
      await rm(tmpPath, { force: true });
      return;
    }
    await commitFile(tmpPath, this.pathOf(name));
    this.forget(name);
    this.remember(name, size);
    this.evict();
  }

  private remember(name: string, size: number): void {
    this.entries.set(name, size);
    this.total += size;
  }

  private evict(): void {
    for (const [name, size] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(name);
      this.total -= size;
      // Unlinking a file someone is still reading is fine on POSIX: their descriptor stays valid.
      rmSync(join(this.dir, name), { force: true });
    }
  }
}
