/**
 * Remote tracks in the catalog. A search hit becomes a `tracks` row only when someone plays, likes
 * or adds it (the web app calls {@link RemoteTracksService.upsert} first), deduplicated by
 * (source, remote id). Also: who may play URLs, deleting a cached copy, and cache statistics.
 */
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthUser } from '../accounts/auth-context.js';
import { type TrackDto, toTrackDto } from '../catalog/dto.js';
import type { LikedFlags } from '../catalog/liked.js';
import { BadGateway, Conflict, Forbidden, Invalid, NotFound } from '../shared/errors.js';
import { isDomainError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { forEachCacheFile } from './cache/cache-paths.js';
import type { DownloadHub } from './cache/download-hub.js';
import type { RecentResults } from './search/recent-results.js';
import { parseSourceUrl } from './net/address-policy.js';
import { REMOTE_SOURCES, type RemoteMetadata, type RemoteSource } from './providers/provider.js';
import type { ProviderRegistry } from './providers/registry.js';
import type { RemoteTracksRepository, TrackRow } from './remote-tracks.repository.js';
import type { CacheSummary } from './sources.schemas.js';
import { YtDlpError } from './ytdlp/runner.js';

export type UpsertInput = { provider: RemoteSource; remoteId: string } | { url: string };

export class RemoteTracksService {
  constructor(
    private readonly o: {
      liked: LikedFlags;
      repo: RemoteTracksRepository;
      registry: ProviderRegistry;
      hub: DownloadHub;
      recent: RecentResults;
      cacheDir: string;
      clock: Clock;
      logger: Logger;
    },
  ) {}

  async mayPlayUrls(user: AuthUser): Promise<boolean> {
    if (!this.o.registry.isEnabled('url')) return false;
    return user.role === 'admin' || (await this.o.repo.canPlayUrls(user.id));
  }

  /** Adds (or finds) the catalog row for a remote item; returns it as a Track. */
  async upsert(
    input: UpsertInput,
    user: AuthUser,
    signal?: AbortSignal,
  ): Promise<{ track: TrackDto; created: boolean }> {
    const meta =
      'url' in input
        ? await this.resolveUrl(input.url, user, signal)
        : await this.resolveById(input.provider, input.remoteId, signal);
    const { row, created } = await this.o.repo.upsert(meta, user.id, this.o.clock.now());
    if (created)
      this.o.logger.info(
        { area: 'sources', trackId: row.id, source: meta.source },
        'remote track added to the catalog',
      );
    return { track: await this.dto(row, user), created };
  }

  private async resolveById(source: RemoteSource, remoteId: string, signal?: AbortSignal): Promise<RemoteMetadata> {
    if (!REMOTE_SOURCES.includes(source) || source === 'url')
      throw new Invalid('provider must be youtube or soundcloud (use `url` for links)', { field: 'provider' });
    const provider = this.o.registry.get(source);
    if (!provider) throw new Forbidden(`The ${source} source is disabled on this server.`);
    const existing = await this.o.repo.findByRemote(source, remoteId);
    if (existing) return rowMeta(existing);
    // A recent search hit carries everything needed: no second round trip to the service.
    const recent = this.o.recent.get(source, remoteId);
    if (recent) return recent;
    try {
      await provider.playTarget(remoteId); // validates the id's shape before any process runs
    } catch (err) {
      throw new Invalid((err as Error).message, { field: 'remoteId' });
    }
    return this.callProvider(() => provider.resolve(remoteId, signal));
  }

  private async resolveUrl(input: string, user: AuthUser, signal?: AbortSignal): Promise<RemoteMetadata> {
    const provider = this.o.registry.get('url');
    if (!provider) throw new Forbidden('Playing URLs is disabled on this server.');
    if (!(await this.mayPlayUrls(user))) throw new Forbidden('You are not allowed to play URLs. Ask an administrator.');
    const url = parseSourceUrl(input).href; // scheme/shape first: `--exec=…`, `-o x`, `file:` end here
    const existing = await this.o.repo.findByRemote('url', url);
    if (existing) return rowMeta(existing);
    // playTarget resolves the host and refuses private/loopback/metadata addresses before yt-dlp runs.
    await provider.playTarget(url);
    return this.callProvider(() => provider.resolve(url, signal));
  }

  private async callProvider(fn: () => Promise<RemoteMetadata>): Promise<RemoteMetadata> {
    try {
      return await fn();
    } catch (err) {
      if (isDomainError(err)) throw err;
      if (err instanceof YtDlpError) throw new BadGateway(`The remote source could not be read: ${err.message}`);
      throw new BadGateway(`The remote source could not be read: ${(err as Error).message}`);
    }
  }

  private async dto(row: TrackRow, user: AuthUser): Promise<TrackDto> {
    const liked = await this.o.liked.likedIds(user.id, 'track', [row.id]);
    return toTrackDto(row, liked.has(row.id));
  }

  /** Deletes a cached copy (admin, or the user who added the track); the track stays in the catalog. */
  async deleteCache(trackId: string, user: AuthUser): Promise<TrackDto> {
    const row = await this.o.repo.findById(trackId);
    if (!row || row.source_type === 'local') throw new NotFound('remote track', trackId);
    if (user.role !== 'admin' && row.added_by !== user.id)
      throw new Forbidden('Only an administrator or the person who added this track can delete its cached copy.');
    if (this.o.hub.current(trackId))
      throw new Conflict('This track is being downloaded right now; try again when it has finished.');
    // The row first, then the file: a kill -9 in between leaves a file nothing claims (a later
    // download of the track replaces it), never a row claiming a file that is gone.
    await this.o.repo.resetCache(trackId, this.o.clock.now());
    if (row.is_cached === 1 && row.local_path) {
      await rm(join(this.o.cacheDir, row.local_path), { force: true });
    }
    this.o.logger.info({ area: 'sources', trackId, by: user.id }, 'cached copy deleted');
    const fresh = await this.o.repo.findById(trackId);
    if (!fresh) throw new NotFound('remote track', trackId);
    return this.dto(fresh, user);
  }

  /** Whether this user may play arbitrary URLs (the stored permission; admins may regardless). */
  async urlPermission(userId: string): Promise<boolean> {
    if (!(await this.o.repo.userExists(userId))) throw new NotFound('user', userId);
    return this.o.repo.canPlayUrls(userId);
  }

  async setUrlPermission(userId: string, allowed: boolean): Promise<void> {
    if (!(await this.o.repo.userExists(userId))) throw new NotFound('user', userId);
    await this.o.repo.setCanPlayUrls(userId, allowed, this.o.clock.now());
  }

  async cacheSummary(): Promise<CacheSummary> {
    let bytes = 0;
    let files = 0;
    forEachCacheFile(this.o.cacheDir, (path, entry) => {
      if (!entry.isFile() || entry.name.endsWith('.part')) return;
      files += 1;
      bytes += statSync(path).size;
    });
    return { bytes, files, bySource: await this.o.repo.cacheStatsBySource(), downloadsInFlight: this.o.hub.inFlight };
  }
}

function rowMeta(row: TrackRow): RemoteMetadata {
  return {
    source: row.source_type as RemoteSource,
    remoteId: row.remote_id ?? '',
    title: row.title,
    artist: row.artist,
    album: row.album,
    duration: row.duration,
    thumbnailUrl: row.thumbnail_url,
    webpageUrl: null,
    extractor: null,
  };
}
