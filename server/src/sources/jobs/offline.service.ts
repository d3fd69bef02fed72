/**
 * Offline playlists: when a playlist is marked offline (`playlist.offlineChanged`), every remote
 * track in it that is not cached yet is queued as a persistent `cache-track` job (dedupe key =
 * track id, so a track in three offline playlists downloads once); tracks added later to an
 * offline playlist (`playlist.tracksAdded`) are queued too. Jobs join the same download a listener
 * would (download-hub.ts), so playing a track while its job runs still uses one yt-dlp.
 */
import type { AuthUser } from '../../accounts/auth-context.js';
import { NotFound } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Clock } from '../../shared/time.js';
import type { DownloadHub } from '../cache/download-hub.js';
import type { RemoteTracksRepository } from '../remote-tracks.repository.js';
import { type JobContext, PermanentJobError, type JobRunner } from './job-runner.js';
import type { OfflineRepository } from './offline.repository.js';
import type { JobRow, JobsRepository } from './jobs.repository.js';
import type { OfflineJobView, OfflineStatus } from '../sources.schemas.js';

export const CACHE_TRACK_JOB = 'cache-track';

export function jobView(j: JobRow): OfflineJobView {
  return {
    id: j.id,
    trackId: j.dedupe_key,
    state: j.state,
    attempts: j.attempts,
    maxAttempts: j.max_attempts,
    progress: j.progress,
    lastError: j.last_error,
    runAfter: j.run_after,
    updatedAt: j.updated_at,
  };
}

export class OfflineService {
  private pending = new Set<Promise<unknown>>();

  constructor(
    private readonly o: {
      repo: OfflineRepository;
      jobs: JobsRepository;
      runner: JobRunner;
      hub: DownloadHub;
      tracks: RemoteTracksRepository;
      clock: Clock;
      logger: Logger;
    },
  ) {}

  /** Tracks an event-driven enqueue so tests (and shutdown) can wait for it. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = () => this.pending.delete(p);
    p.then(done, done);
    return p;
  }

  /** Resolves when every enqueue triggered by events so far has reached the database. */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  onOfflineChanged(e: { playlistId: string; ownerId: string; isOffline: boolean }): void {
    if (!e.isOffline) return;
    this.track(this.queuePlaylist(e.playlistId, e.ownerId)).catch((err) =>
      this.o.logger.error({ area: 'sources', err }, 'queueing offline playlist failed'),
    );
  }

  onTracksAdded(e: { playlistId: string; ownerId: string; trackIds: string[] }): void {
    this.track(this.queueAdded(e.playlistId, e.ownerId, e.trackIds)).catch((err) =>
      this.o.logger.error({ area: 'sources', err }, 'queueing added tracks failed'),
    );
  }

  async queuePlaylist(playlistId: string, ownerId: string | null): Promise<number> {
    return this.enqueue(await this.o.repo.uncachedRemoteTrackIds({ playlistId }), ownerId);
  }

  private async queueAdded(playlistId: string, ownerId: string, trackIds: string[]): Promise<number> {
    const playlist = await this.o.repo.playlist(playlistId);
    if (playlist?.is_offline !== 1 || trackIds.length === 0) return 0;
    return this.enqueue(await this.o.repo.uncachedRemoteTrackIds({ playlistId, trackIds }), ownerId);
  }

  /** Start-up: queue whatever offline playlists still miss (e.g. an event lost to a crash). */
  async reconcile(): Promise<number> {
    const missing = await this.o.repo.uncachedRemoteTrackIds({ offlineOnly: true });
    // Not a download that was given up after killing the server max_attempts times.
    const gaveUp = await this.o.jobs.gaveUpAfterInterruptions(CACHE_TRACK_JOB, missing);
    return this.enqueue(
      missing.filter((id) => !gaveUp.has(id)),
      null,
    );
  }

  private async enqueue(trackIds: string[], ownerId: string | null): Promise<number> {
    let queued = 0;
    const now = this.o.clock.now();
    for (const trackId of trackIds) {
      if (await this.o.jobs.enqueue({ type: CACHE_TRACK_JOB, dedupeKey: trackId, payload: { trackId }, ownerId }, now))
        queued += 1;
    }
    if (queued) {
      this.o.logger.info({ area: 'sources', queued }, 'queued remote tracks for offline caching');
      this.o.runner.wake();
    }
    return queued;
  }

  /** The `cache-track` job: join (or start) the track's download and wait for it to be stored. */
  readonly cacheTrack = async (job: JobRow, ctx: JobContext): Promise<void> => {
    const { trackId } = JSON.parse(job.payload) as { trackId?: string };
    if (!trackId) throw new PermanentJobError('job has no track id');
    const row = await this.o.tracks.findById(trackId);
    if (!row) throw new PermanentJobError('the track no longer exists');
    if (row.source_type === 'local' || row.is_cached === 1) return;
    const dl = this.o.hub.join(row, { kind: 'job', userId: null });
    const release = dl.hold();
    const onAbort = () => release();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const progress = () => {
      if (row.size) void ctx.progress(dl.written / row.size);
    };
    dl.on('progress', progress);
    try {
      await dl.finished;
    } finally {
      dl.off('progress', progress);
      ctx.signal.removeEventListener('abort', onAbort);
      release();
    }
  };

  /** How many cache jobs are in each state (the admin cache page). */
  jobCounts(): Promise<Record<JobRow['state'], number>> {
    return this.o.jobs.countByState([CACHE_TRACK_JOB]);
  }

  /** Background jobs, newest first, for the admin job list. */
  async jobsPage(filter: { state?: JobRow['state']; limit: number; offset: number }) {
    const rows = await this.o.jobs.list({
      states: filter.state ? [filter.state] : undefined,
      limit: filter.limit,
      offset: filter.offset,
    });
    return {
      items: rows.map((j) => ({ ...jobView(j), type: j.type, ownerId: j.owner_id, createdAt: j.created_at })),
      counts: await this.jobCounts(),
      limit: filter.limit,
      offset: filter.offset,
    };
  }

  /** Offline progress of a playlist: visible to its owner, to anyone when public, and to admins. */
  async status(playlistId: string, user: AuthUser): Promise<OfflineStatus> {
    const playlist = await this.o.repo.playlist(playlistId);
    // Not-yours and not-there look the same (existence is not revealed).
    if (!playlist || (playlist.owner_id !== user.id && playlist.is_public !== 1 && user.role !== 'admin'))
      throw new NotFound('playlist', playlistId);
    const tracks = await this.o.repo.remoteTracksOf(playlistId);
    const ids = tracks.map((t) => t.id);
    // The latest job per track tells its state.
    const jobs = await this.o.jobs.list({ types: [CACHE_TRACK_JOB], dedupeKeys: ids, limit: 10_000, offset: 0 });
    const latest = new Map<string, JobRow>();
    for (const j of jobs) if (j.dedupe_key && !latest.has(j.dedupe_key)) latest.set(j.dedupe_key, j);
    const cachedIds = new Set(tracks.filter((t) => t.is_cached === 1).map((t) => t.id));
    const count = (state: JobRow['state']) =>
      [...latest.entries()].filter(([id, j]) => j.state === state && !cachedIds.has(id)).length;
    return {
      playlistId,
      isOffline: playlist.is_offline === 1,
      total: tracks.length,
      cached: cachedIds.size,
      queued: count('queued'),
      running: count('running'),
      failed: count('failed'),
      jobs: [...latest.values()].map(jobView),
    };
  }
}
