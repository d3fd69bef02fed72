/**
 * `/system/storage`: how full the disks are and how much Earshot uses.
 *
 * Volume figures come from `statfs` of the library, cache and database folders (they may share one
 * disk; `sameVolumeAs` says so). Cache and database sizes come from a du-like walk (lstat, no
 * symlinks followed, bounded entry count) — costly on a big cache, so the whole report is cached
 * for a few seconds.
 */
import { lstat, readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataPaths } from '../shared/fs-paths.js';
import type { Clock } from '../shared/time.js';
import type { SystemRepository } from './system.repository.js';
import type { StorageReport, VolumeUsage } from './storage.schemas.js';

export const STORAGE_CACHE_MS = 5_000;
/** A walk stops after this many entries (the size is then a lower bound, flagged `approximate`). */
export const WALK_MAX_ENTRIES = 200_000;

export async function volumeUsage(path: string): Promise<VolumeUsage & { id: string }> {
  const s = await statfs(path);
  const bsize = Number(s.bsize);
  return {
    totalBytes: Number(s.blocks) * bsize,
    usedBytes: (Number(s.blocks) - Number(s.bfree)) * bsize,
    // bavail, not bfree: what an unprivileged process (us) can still write.
    availableBytes: Number(s.bavail) * bsize,
    id: `${s.type}:${s.blocks}:${s.bsize}`,
  };
}

/** Total size of regular files under a folder (symlinks are not followed). */
export async function folderSize(
  root: string,
  maxEntries = WALK_MAX_ENTRIES,
): Promise<{ bytes: number; complete: boolean }> {
  let bytes = 0;
  let seen = 0;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue; // vanished or unreadable: skip it
    }
    for (const entry of entries) {
      if (++seen > maxEntries) return { bytes, complete: false };
      const full = join(dir, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else if (entry.isFile()) {
        try {
          bytes += (await lstat(full)).size;
        } catch {
          // deleted between readdir and lstat
        }
      }
    }
  }
  return { bytes, complete: true };
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await lstat(path)).size;
  } catch {
    return 0;
  }
}

export class StorageService {
  private cached: { at: number; report: Promise<StorageReport> } | null = null;

  constructor(private readonly options: { repo: SystemRepository; paths: DataPaths; clock: Clock }) {}

  /** The full report (paths included); callers strip the paths for non-admins. */
  report(): Promise<StorageReport> {
    const now = this.options.clock.now();
    if (!this.cached || now - this.cached.at >= STORAGE_CACHE_MS) {
      const report = this.measure(now);
      this.cached = { at: now, report };
      report.catch(() => {
        this.cached = null;
      });
    }
    return this.cached.report;
  }

  private async measure(now: number): Promise<StorageReport> {
    const { paths, repo } = this.options;
    const [library, cache, database, cacheSize, dbSizes, counts, serverSide] = await Promise.all([
      volumeUsage(paths.musicDir),
      volumeUsage(paths.cacheDir),
      volumeUsage(paths.dbDir),
      folderSize(paths.cacheDir),
      Promise.all(['', '-wal', '-shm'].map((suffix) => fileSize(paths.dbFile + suffix))),
      repo.trackCounts(),
      repo.serverSideSize(),
    ]);
    const strip = ({ id: _id, ...usage }: VolumeUsage & { id: string }) => usage;
    return {
      library: { ...strip(library), path: paths.musicDir },
      cache: { ...strip(cache), path: paths.cacheDir, sizeBytes: cacheSize.bytes, approximate: !cacheSize.complete },
      database: { ...strip(database), path: paths.dbFile, sizeBytes: serverSide ?? dbSizes.reduce((a, b) => a + b, 0) },
      tracks: counts,
      measuredAt: now,
    };
  }
}
