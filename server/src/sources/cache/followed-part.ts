/**
 * Following another replica's download of a track through the shared cache folder. The replica
 * holding the track's lock (cluster/track-locks.ts) writes `<final name>.<ext>.part`; the extension
 * comes from the first bytes, so a waiting replica looks for the part under each name a download
 * can get (cache-paths.ts {@link SNIFFED_EXTS}) and follows the one it finds by its open
 * descriptor: the descriptor keeps naming that very file through the holder's rename to the final
 * name, and its identity (device, inode) cannot be reused while it is open, which is how the
 * waiter tells "the holder committed the file I followed" from "someone else's file is there now".
 */
import { type FileHandle, open, rm, stat } from 'node:fs/promises';
import type { RemoteSource } from '../providers/provider.js';
import type { TrackRow } from '../remote-tracks.repository.js';
import { type CacheLocation, cacheLocation, SNIFFED_EXTS } from './cache-paths.js';
import { type FileIdentity, sameFile } from './remote-download.js';

export interface FollowedPart {
  fh: FileHandle;
  identity: FileIdentity;
  location: CacheLocation;
  ext: string;
}

/** Every location the track's download can be written to, one per sniffable extension. */
export function candidateLocations(cacheDir: string, track: TrackRow): { location: CacheLocation; ext: string }[] {
  const meta = {
    source: track.source_type as RemoteSource,
    remoteId: track.remote_id ?? '',
    artist: track.artist,
    album: track.album,
    title: track.title,
  };
  return SNIFFED_EXTS.map((ext) => ({ location: cacheLocation(cacheDir, meta, ext), ext }));
}

/** The holder's part file, opened, once it has bytes; null while there is none. */
export async function findPart(cacheDir: string, track: TrackRow): Promise<FollowedPart | null> {
  for (const { location, ext } of candidateLocations(cacheDir, track)) {
    let fh: FileHandle;
    try {
      fh = await open(location.partAbsolute, 'r');
    } catch {
      continue;
    }
    const stats = await fh.stat({ bigint: true }).catch(() => null);
    if (stats && stats.size > 0n) return { fh, identity: { dev: stats.dev, ino: stats.ino }, location, ext };
    await fh.close().catch(() => {});
  }
  return null;
}

/**
 * Deletes the part files a dead holder left for this track. The new holder calls it as soon as it
 * has the lock, so a replica arriving later never finds (and follows) an orphan.
 */
export async function removeOrphanParts(cacheDir: string, track: TrackRow): Promise<void> {
  await Promise.all(
    candidateLocations(cacheDir, track).map(({ location }) => rm(location.partAbsolute, { force: true })),
  );
}

/** The size of the followed file now. */
export async function sizeOf(part: FollowedPart): Promise<number> {
  return Number((await part.fh.stat({ bigint: true })).size);
}

/** Whether the part's name still names the file that was opened (not deleted, not replaced). */
export async function stillNamed(part: FollowedPart): Promise<boolean> {
  const stats = await stat(part.location.partAbsolute, { bigint: true }).catch(() => null);
  return stats !== null && sameFile(stats, part.identity);
}
