/**
 * Starts and shares downloads of remote tracks: at most one per track, whoever asks (a listener on
 * `/stream`, a second listener, an offline-playlist job) joins the same {@link RemoteDownload}.
 * The entry is registered synchronously before any await, so concurrent requests cannot race two
 * yt-dlp processes into existence (caching-proxy.test.ts).
 *
 * Across replicas (several processes on one PostgreSQL and one shared cache folder) the rule holds
 * through `trackLocks` (cluster/track-locks.ts): a download starts only under the track's lock.
 * A replica that finds it held starts no yt-dlp of its own: it follows the holder's part file in
 * the shared cache (replica-wait.ts, followed-part.ts), so its listeners get the bytes as they
 * arrive, and ends on the file the holder committed. When the holder died instead (PostgreSQL freed its lock with its
 * connection) nothing is cached: a waiter that had passed on none of its bytes takes the lock and
 * downloads afresh; one that had fails its listeners (bytes cannot be spliced onto a new download)
 * and the next play downloads afresh (downloads.replicas.test.ts). On SQLite one process's hub
 * joins its own listeners to one download, so the locks never find another holder.
 */
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
import { DownloadFailed, RemoteDownload } from './remote-download.js';
import { ReplicaWait } from './replica-wait.js';
import { fetchImage, storeArtwork } from './thumbnail.js';

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

  private readonly waiter: ReplicaWait;

  constructor(private readonly o: DownloadHubOptions) {
    this.limits = { maxBytes: o.maxBytes, idleGraceMs: o.idleGraceMs };
    this.waiter = new ReplicaWait(o.trackLocks ?? new LocalTrackLocks(), o.repo, o.cacheDir);
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

  private async run(dl: RemoteDownload, track: TrackRow, source: RemoteSource, remoteId: string): Promise<void> {
    const log = this.o.logger.child({ area: 'sources', trackId: track.id, source });
    let lease: TrackLease | null;
    try {
      lease = await this.waiter.lockFor(dl, track, log);
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
