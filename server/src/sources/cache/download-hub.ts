/**
 * Starts and shares downloads of remote tracks: at most one per track, whoever asks (a listener on
 * `/stream`, a second listener, an offline-playlist job) joins the same {@link RemoteDownload}.
 * The entry is registered synchronously before any await, so concurrent requests cannot race two
 * yt-dlp processes into existence (caching-proxy.test.ts).
 *
 * Across replicas (several processes on one PostgreSQL and one shared cache folder) the rule holds
 * through `trackLocks` (cluster/track-locks.ts): a download starts only under the track's lock.
 * A replica that finds it held starts no yt-dlp of its own: it follows the holder's part file in
 * the shared cache (followed-part.ts), so its listeners get the bytes as they arrive, and ends on
 * the file the holder committed. When the holder died instead (PostgreSQL freed its lock with its
 * connection) nothing is cached: a waiter that had passed on none of its bytes takes the lock and
 * downloads afresh; one that had fails its listeners (bytes cannot be spliced onto a new download)
 * and the next play downloads afresh (downloads.replicas.test.ts). On SQLite one process's hub
 * joins its own listeners to one download, so the locks never find another holder.
 */
import { stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { LocalTrackLocks, type TrackLease, type TrackLocks } from '../../cluster/track-locks.js';
import { Unavailable } from '../../shared/errors.js';
import type { EventBus } from '../../shared/events.js';
import type { Logger } from '../../shared/logger.js';
import { telemetry } from '../../shared/telemetry.js';
import type { Clock } from '../../shared/time.js';
import type { AddressPolicy, LookupFn } from '../net/address-policy.js';
import type { RemoteSource } from '../providers/provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { RemoteTracksRepository, TrackRow } from '../remote-tracks.repository.js';
import { errorFromStderr, type YtDlpRunner } from '../ytdlp/runner.js';
import { cacheLocation } from './cache-paths.js';
import { readCachedFileFacts } from './file-facts.js';
import { type FollowedPart, findPart, removeOrphanParts, sizeOf, stillNamed } from './followed-part.js';
import { DownloadFailed, RemoteDownload, sameFile } from './remote-download.js';
import { fetchImage, storeArtwork } from './thumbnail.js';

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

export interface DownloadHubOptions {
  cacheDir: string;
  runner: YtDlpRunner;
  registry: ProviderRegistry;
  repo: RemoteTracksRepository;
  events: EventBus;
  clock: Clock;
  logger: Logger;
  policy: AddressPolicy;
  lookup?: LookupFn;
  maxBytes: number;
  timeoutMs: number;
  idleGraceMs: number;
  maxListenerDownloads: number;
  maxDownloadsPerUser: number;
  /** One download per track across replicas (default: in-process locks, one process). */
  trackLocks?: TrackLocks;
}

export class DownloadHub {
  private readonly active = new Map<string, RemoteDownload>();
  /** Downloads started by listeners: track id → user id (null for share links). */
  private readonly starters = new Map<string, string | null>();
  private stopped = false;

  /** Live limits of downloads (shared by reference; tests shorten the grace period). */
  readonly limits: { maxBytes: number; idleGraceMs: number };

  private readonly locks: TrackLocks;

  constructor(private readonly o: DownloadHubOptions) {
    this.limits = { maxBytes: o.maxBytes, idleGraceMs: o.idleGraceMs };
    this.locks = o.trackLocks ?? new LocalTrackLocks();
  }

  /** The in-flight download of a track, if any. */
  current(trackId: string): RemoteDownload | null {
    return this.active.get(trackId) ?? null;
  }

  get inFlight(): number {
    return this.active.size;
  }

  /**
   * Joins the track's download, starting it when none is running. New downloads started by
   * listeners are capped server-wide and per user (no process storm from one client); jobs have
   * their own bound (cacheJobsConcurrency).
   */
  join(track: TrackRow, by: { kind: 'listener' | 'job'; userId: string | null }): RemoteDownload {
    const existing = this.active.get(track.id);
    if (existing) return existing;
    if (track.source_type === 'local' || !track.remote_id) throw new Error('not a remote track');
    if (by.kind === 'listener') {
      const mine = [...this.starters.values()].filter((u) => u === by.userId).length;
      if (
        this.starters.size >= this.o.maxListenerDownloads ||
        (by.userId !== null && mine >= this.o.maxDownloadsPerUser)
      ) {
        throw new Unavailable('Too many remote tracks are being fetched right now; try again in a moment.', {
          retryAfterSeconds: 5,
        });
      }
    }
    const source = track.source_type as RemoteSource;
    const remoteId = track.remote_id;
    const dl = new RemoteDownload(
      track.id,
      {
        locate: (ext) =>
          cacheLocation(
            this.o.cacheDir,
            { source, remoteId, artist: track.artist, album: track.album, title: track.title },
            ext,
          ),
      },
      this.limits,
    );
    this.active.set(track.id, dl);
    if (by.kind === 'listener') this.starters.set(track.id, by.userId);
    const forget = () => {
      if (this.active.get(track.id) === dl) this.active.delete(track.id);
      this.starters.delete(track.id);
    };
    dl.finished.then(forget, forget);
    dl.finished.then(
      () => telemetry.add('earshot_ytdlp_downloads_total', { provider: source, outcome: 'ok' }),
      () =>
        telemetry.add('earshot_ytdlp_downloads_total', {
          provider: source,
          outcome: dl.cancelReason ? 'cancelled' : 'failed',
        }),
    );
    if (this.stopped) void dl.fail(new DownloadFailed('the server is shutting down', true));
    else void this.run(dl, track, source, remoteId);
    return dl;
  }

  /**
   * The track's lock for this download, or null when the download ended without one: another
   * replica cached the track meanwhile (then `dl` was adopted onto that file, having streamed its
   * part file as it grew) or `dl` was cancelled while waiting (every listener left, shutdown), or
   * the replica it was following stopped after some of its bytes were already passed on.
   */
  private async lockFor(dl: RemoteDownload, track: TrackRow, log: Logger): Promise<TrackLease | null> {
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
        await removeOrphanParts(this.o.cacheDir, track).catch((err) =>
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
          part = await findPart(this.o.cacheDir, track);
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
    const row = await this.o.repo.findById(trackId);
    if (!row || row.is_cached !== 1 || !row.local_path) return false;
    const absolute = join(this.o.cacheDir, row.local_path);
    const stats = await stat(absolute, { bigint: true }).catch(() => null);
    if (!stats || !sameFile(stats, part.identity)) return false;
    const ext = extname(row.local_path).slice(1) || part.ext;
    return dl.adopt({ relative: row.local_path, absolute, partAbsolute: `${absolute}.part` }, ext, Number(stats.size));
  }

  /** Ends `dl` on the cached file when the track's row says it is cached and the file is there. */
  private async adoptIfCached(dl: RemoteDownload, trackId: string): Promise<boolean> {
    const row = await this.o.repo.findById(trackId);
    if (!row || row.is_cached !== 1 || !row.local_path) return false;
    const absolute = join(this.o.cacheDir, row.local_path);
    const size = await stat(absolute).then(
      (s) => s.size,
      () => -1,
    );
    if (size <= 0) return false;
    const ext = extname(row.local_path).slice(1) || row.format || 'bin';
    return dl.adopt({ relative: row.local_path, absolute, partAbsolute: `${absolute}.part` }, ext, size);
  }

  private async run(dl: RemoteDownload, track: TrackRow, source: RemoteSource, remoteId: string): Promise<void> {
    const log = this.o.logger.child({ area: 'sources', trackId: track.id, source });
    let lease: TrackLease | null;
    try {
      lease = await this.lockFor(dl, track, log);
    } catch (err) {
      await dl.fail(new DownloadFailed(`could not coordinate the download: ${(err as Error).message}`, true));
      return;
    }
    if (!lease) return;
    // Released once the download settled: after the commit and markCached, so a replica waiting
    // for the lock finds the row cached.
    const release = () => void lease.release().catch((err) => log.warn({ err }, 'track lock release failed'));
    dl.finished.then(release, release);
    if (dl.state !== 'running') return;
    const provider = this.o.registry.get(source);
    if (!provider) {
      await dl.fail(new DownloadFailed(`The ${source} source is disabled on this server.`, true));
      return;
    }
    let proc: Awaited<ReturnType<YtDlpRunner['audio']>>;
    try {
      // For URL sources this re-checks every address now (DNS may have changed since the row was added).
      const { target, pinned } = await provider.playTarget(remoteId);
      if (dl.state !== 'running') return;
      proc = await this.o.runner.audio(target, pinned);
    } catch (err) {
      await dl.fail(new DownloadFailed((err as Error).message, true));
      return;
    }
    const { child, session, exited } = proc;
    log.info({ pid: child.pid }, 'caching remote track');
    dl.attachProducer(() => child.kill('SIGKILL'));
    const timer = setTimeout(() => dl.cancel(new DownloadFailed('the download took too long', true)), this.o.timeoutMs);
    timer.unref();
    watchForRestart(child.stderr, () =>
      dl.cancel(new DownloadFailed('the source broke off the download and cannot resume it; play it again', true)),
    );
    child.stdout.on('data', (chunk: Buffer) => {
      child.stdout.pause();
      dl.write(chunk).then(
        () => child.stdout.resume(),
        (err) => dl.cancel(new DownloadFailed(`could not write the cache file: ${(err as Error).message}`, true)),
      );
    });
    // Wait for stdout to drain as well as for the exit: 'close' fires after both.
    const { code, signal, stderr } = await exited;
    clearTimeout(timer);
    if (dl.state !== 'running') return;
    if (dl.cancelReason) {
      // Killed on purpose; the process is gone now, so the failure can be settled.
      await dl.fail(dl.cancelReason);
      return;
    }
    if (code !== 0) {
      const reason = session.refusal ? `refused: ${session.refusal}` : errorFromStderr(stderr);
      log.warn({ code, signal, reason }, 'remote download failed');
      await dl.fail(new DownloadFailed(reason));
      return;
    }
    const stored = await dl.complete(async (location, ext) => {
      const facts = await readCachedFileFacts(location.absolute, location.relative, ext);
      await this.o.repo.markCached(track.id, facts, this.o.clock.now());
      await this.storeThumbnail(track, log);
      log.info({ path: location.relative, bytes: facts.size }, 'remote track cached');
    });
    if (stored) this.o.events.emit('sources.cached', { trackId: track.id });
  }

  private async storeThumbnail(track: TrackRow, log: Logger): Promise<void> {
    if (!track.thumbnail_url || track.artwork_id) return;
    try {
      const bytes = await fetchImage(track.thumbnail_url, this.o.policy, { lookup: this.o.lookup });
      const art = await storeArtwork(this.o.cacheDir, bytes);
      const now = this.o.clock.now();
      await this.o.repo.insertArtwork(art, now);
      await this.o.repo.setArtwork(track.id, art.id, now);
    } catch (err) {
      // The audio is what matters; a missing thumbnail only means no cover.
      log.info({ err: (err as Error).message }, 'thumbnail not stored');
    }
  }

  /** Cancels every download (shutdown): parts are deleted, rows stay `is_cached=0`. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.active.values()];
    for (const dl of all) dl.cancel(new DownloadFailed('the server is shutting down', true));
    await Promise.all(all.map((dl) => dl.finished.catch(() => {})));
  }
}

/**
 * yt-dlp retries a download that broke off by asking for the missing bytes (Range). An origin that
 * cannot resume answers with the whole file, and yt-dlp, writing to stdout, then starts again from
 * byte 0 after the bytes it already sent: the stream would be a splice of a prefix and the whole
 * file. It says so on stderr ("Unable to resume"); the download is then abandoned (nothing is
 * stored; the next play starts afresh) rather than cached spliced.
 */
function watchForRestart(stderr: NodeJS.ReadableStream, onRestart: () => void): void {
  let tail = '';
  const onData = (d: string | Buffer) => {
    tail = (tail + d.toString()).slice(-256);
    if (tail.includes('Unable to resume')) {
      stderr.off('data', onData);
      onRestart();
    }
  };
  stderr.on('data', onData);
}
