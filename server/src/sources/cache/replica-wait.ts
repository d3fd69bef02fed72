/**
 * The download hub's side of "one download per track" across replicas: taking the track's lock
 * (cluster/track-locks.ts) before a download starts, or — when another replica holds it —
 * following that replica's growing part file in the shared cache (followed-part.ts) and ending on
 * the file it commits; when the holder stops without one, downloading afresh or failing the
 * listeners that already got some of its bytes (download-hub.ts has the whole story).
 */
import { stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { TrackLease, TrackLocks } from '../../cluster/track-locks.js';
import type { Logger } from '../../shared/logger.js';
import type { RemoteTracksRepository, TrackRow } from '../remote-tracks.repository.js';
import { type FollowedPart, findPart, removeOrphanParts, sizeOf, stillNamed } from './followed-part.js';
import { DownloadFailed, type RemoteDownload, sameFile } from './remote-download.js';

/** How often a replica following another's download looks at the part file's size. */
const FOLLOW_POLL_MS = 100;

/** Resolves after `ms`, or as soon as `early` settles (the timer is then cleared). */
function pause(early: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void early.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export class ReplicaWait {
  constructor(
    private readonly locks: TrackLocks,
    private readonly repo: RemoteTracksRepository,
    private readonly cacheDir: string,
  ) {}

  /**
   * The track's lock for this download, or null when the download ended without one: another
   * replica cached the track meanwhile (then `dl` was adopted onto that file, having streamed its
   * part file as it grew) or `dl` was cancelled while waiting (every listener left, shutdown), or
   * the replica it was following stopped after some of its bytes were already passed on.
   */
  async lockFor(dl: RemoteDownload, track: TrackRow, log: Logger): Promise<TrackLease | null> {
    const waiting = new AbortController();
    void dl.finished.catch(() => waiting.abort(new Error('download ended while waiting')));
    // A cancel with no producer fails the download at once: that settles `finished` (above).
    for (;;) {
      const lease = await this.locks.tryAcquire(track.id);
      if (lease) {
        // Under the lock: another replica may have finished it just before we took it.
        if (await this.adoptIfCached(dl, track.id)) {
          await lease.release();
          return null;
        }
        // A replica that died mid-download left its part: no one may follow it from now on.
        await removeOrphanParts(this.cacheDir, track).catch((err) =>
          log.warn({ err }, 'could not delete an orphaned part file'),
        );
        return lease;
      }
      log.info('another replica is downloading this track: waiting for it');
      let part: FollowedPart | null;
      try {
        part = await this.followHolder(dl, track, waiting.signal, log);
      } catch (err) {
        if (dl.state !== 'running') return null;
        throw err;
      }
      try {
        if (dl.state !== 'running') return null;
        if (part) {
          if (await this.adoptFollowed(dl, track.id, part)) {
            log.info('streamed the file another replica cached, as it grew');
            return null;
          }
          // The holder stopped. With none of its bytes handed out yet, fetch afresh (below); else
          // they cannot be spliced onto a new download: this play fails, the next one starts over.
          if (!dl.unfollow()) {
            await dl.fail(
              new DownloadFailed(
                'the server that was fetching this track stopped before it finished; play it again',
                true,
              ),
            );
            return null;
          }
        }
      } finally {
        await part?.fh.close().catch(() => {});
      }
      if (await this.adoptIfCached(dl, track.id)) {
        log.info('served the file another replica cached');
        return null;
      }
      // Released without a cached file: the holder failed or died. Try to take it ourselves.
    }
  }

  /**
   * Waits until the holder releases the track's lock; meanwhile follows its part file (once it
   * appears), so this replica's listeners get the bytes as they arrive. Growth is polled (a
   * shared folder on NFS sends no change events across machines). Returns the followed part, still
   * open, or null when none was found; throws when the wait was abandoned.
   */
  private async followHolder(
    dl: RemoteDownload,
    track: TrackRow,
    signal: AbortSignal,
    log: Logger,
  ): Promise<FollowedPart | null> {
    const released = this.locks.waitForRelease(track.id, signal);
    let over = false;
    const settled = released.then(
      () => {
        over = true;
      },
      () => {
        over = true;
      },
    );
    // A part is followed only once it is seen growing: the part of a holder that just died (its
    // lock not yet freed by PostgreSQL) never grows, and its bytes must not reach listeners.
    let part: FollowedPart | null = null;
    let seen = -1;
    let following = false;
    try {
      while (!over && dl.state === 'running') {
        if (!part) {
          part = await findPart(this.cacheDir, track);
          if (part) seen = await sizeOf(part);
        } else {
          const size = await sizeOf(part);
          if (!following && size > seen) {
            if (!dl.follow(part.location, part.ext, part.identity)) break;
            following = true;
            log.info('streaming the part file of the replica downloading this track');
          }
          if (following) dl.grow(size);
          else if (!(await stillNamed(part))) {
            // An orphan that a new holder replaced (or deleted): look for the new part.
            await part.fh.close().catch(() => {});
            part = null;
          }
        }
        await pause(settled, FOLLOW_POLL_MS);
      }
      await released;
      if (!following) {
        await part?.fh.close().catch(() => {});
        return null;
      }
      // The holder committed (or stopped) before releasing: the descriptor sees its last bytes.
      if (part) dl.grow(await sizeOf(part));
      return part;
    } catch (err) {
      await part?.fh.close().catch(() => {});
      throw err;
    }
  }

  /** Ends a following `dl` on the cached file when it is the very file it followed. */
  private async adoptFollowed(dl: RemoteDownload, trackId: string, part: FollowedPart): Promise<boolean> {
    const row = await this.repo.findById(trackId);
    if (!row || row.is_cached !== 1 || !row.local_path) return false;
    const absolute = join(this.cacheDir, row.local_path);
    const stats = await stat(absolute, { bigint: true }).catch(() => null);
    if (!stats || !sameFile(stats, part.identity)) return false;
    const ext = extname(row.local_path).slice(1) || part.ext;
    return dl.adopt({ relative: row.local_path, absolute, partAbsolute: `${absolute}.part` }, ext, Number(stats.size));
  }

  /** Ends `dl` on the cached file when the track's row says it is cached and the file is there. */
  private async adoptIfCached(dl: RemoteDownload, trackId: string): Promise<boolean> {
    const row = await this.repo.findById(trackId);
    if (!row || row.is_cached !== 1 || !row.local_path) return false;
    const absolute = join(this.cacheDir, row.local_path);
    const size = await stat(absolute).then(
      (s) => s.size,
      () => -1,
    );
    if (size <= 0) return false;
    const ext = extname(row.local_path).slice(1) || row.format || 'bin';
    return dl.adopt({ relative: row.local_path, absolute, partAbsolute: `${absolute}.part` }, ext, size);
  }
}
