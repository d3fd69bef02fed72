/**
 * Decides how one track reaches one listener — the file as it is, a cached transcode, a live
 * ffmpeg transcode, or the remote caching proxy — and runs transcodes under the concurrency caps.
 * It never sees request/reply: the routes execute the plan it returns.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { DataPaths } from '../shared/fs-paths.js';
import { NotFound, Unavailable } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { DiskLru } from './disk-lru.js';
import { audioContentType, resolveInside } from './media-files.js';
import type { StreamPreferences } from './stream.schemas.js';
import type { StreamRepository, StreamTrack } from './stream.repository.js';
import type { TranscodeLimiter } from './transcode-limiter.js';
import {
  clampBitrate,
  type ParsedStreamQuery,
  PROFILES,
  type TranscodeFormat,
  type TranscodeSpec,
} from './transcode-profiles.js';
import type { RunningTranscode, Transcoder } from './transcoder.js';

/** Formats every current browser plays from a plain `<audio src>`; others are transcoded by default. */
const BROWSER_PLAYABLE = new Set(['mp3', 'm4a', 'mp4', 'aac', 'ogg', 'oga', 'opus', 'flac', 'wav', 'webm']);

export interface Listener {
  /** Concurrency key: the user id, or `share:<id>` for anonymous share viewers. */
  key: string;
  preferences: StreamPreferences;
  /** Client address is loopback or a private LAN range. */
  onLan: boolean;
}

export type StreamPlan =
  | { kind: 'file'; path: string; contentType: string }
  | {
      kind: 'transcode';
      inputPath: string;
      spec: TranscodeSpec;
      contentType: string;
      /** Transcode-cache entry name (offset 0 only); null when not cacheable. */
      cacheName: string | null;
      /** Byte estimate for clients that need a Content-Length; null when the duration is unknown. */
      estimatedBytes: number | null;
    }
  | { kind: 'remote'; track: StreamTrack };

export interface StreamServiceOptions {
  repo: StreamRepository;
  paths: Pick<DataPaths, 'musicDir' | 'cacheDir'>;
  transcoder: Transcoder;
  limiter: TranscodeLimiter;
  transcodeCache: DiskLru;
  /** False when ffmpeg is missing: transcode requests get 503, raw streams still work. */
  ffmpegAvailable: () => boolean;
  logger: Logger;
}

export class StreamService {
  constructor(private readonly o: StreamServiceOptions) {}

  async findTrack(trackId: string): Promise<StreamTrack> {
    const track = await this.o.repo.findTrack(trackId);
    if (!track) throw new NotFound('track', trackId);
    return track;
  }

  /** Absolute path of the track's bytes on disk, or null for a remote track not cached yet. */
  async sourcePath(track: StreamTrack): Promise<string | null> {
    if (track.source_type === 'local') return resolveInside(this.o.paths.musicDir, track.local_path);
    if (track.is_cached === 1 && track.local_path) return resolveInside(this.o.paths.cacheDir, track.local_path);
    return null;
  }

  /** What this listener should get for this query. Throws 400/404/503 domain errors. */
  async plan(track: StreamTrack, query: ParsedStreamQuery, listener: Listener): Promise<StreamPlan> {
    const path = await this.sourcePath(track);
    if (path === null) return { kind: 'remote', track };
    const sourceFormat = (track.format ?? path.split('.').pop() ?? '').toLowerCase();
    const target = this.chooseTarget(track, sourceFormat, query, listener);
    if (target === null) return { kind: 'file', path, contentType: audioContentType(track.format ?? path) };

    if (!this.o.ffmpegAvailable()) {
      throw new Unavailable(
        'Transcoding needs ffmpeg, which is not installed on the server. Ask for format=raw to get the original file.',
      );
    }
    const spec: TranscodeSpec = { ...target, offset: query.timeOffset };
    const profile = PROFILES[spec.format];
    let cacheName: string | null = null;
    if (spec.offset === 0 && this.o.transcodeCache.enabled) {
      // Keyed by the source's identity (size + mtime), so a retagged or replaced file re-transcodes.
      const st = await stat(path);
      const key = createHash('sha256')
        .update(`${track.id}|${st.size}|${Math.floor(st.mtimeMs)}|${spec.format}|${spec.kbps}`)
        .digest('hex')
        .slice(0, 40);
      cacheName = `${key}.${profile.extension}`;
      const cached = this.o.transcodeCache.get(cacheName);
      if (cached) return { kind: 'file', path: cached, contentType: profile.contentType };
    }
    const seconds = track.duration ? Math.max(0, track.duration - spec.offset) : null;
    // CBR-ish estimate plus a small margin; the route pads or trims the body to exactly this.
    const estimatedBytes = seconds === null ? null : Math.ceil(seconds * spec.kbps * 125 * 1.03) + 8192;
    return { kind: 'transcode', inputPath: path, spec, contentType: profile.contentType, cacheName, estimatedBytes };
  }

  private chooseTarget(
    track: StreamTrack,
    sourceFormat: string,
    query: ParsedStreamQuery,
    listener: Listener,
  ): { format: TranscodeFormat; kbps: number } | null {
    const prefs = listener.preferences;
    const preferredCodec: TranscodeFormat = prefs.defaultFormat === 'raw' ? 'opus' : prefs.defaultFormat;
    let format: TranscodeFormat;
    let kbps: number | undefined;
    if (query.format === 'raw') return null;
    if (query.format) {
      format = query.format;
      kbps = query.maxBitRate ?? (format === preferredCodec ? prefs.defaultMaxBitRate : undefined);
    } else if (query.maxBitRate !== undefined && query.maxBitRate > 0) {
      // Subsonic semantics: a bitrate cap alone transcodes only what exceeds it.
      if (track.bitrate !== null && track.bitrate <= query.maxBitRate && BROWSER_PLAYABLE.has(sourceFormat))
        return null;
      format = preferredCodec;
      kbps = query.maxBitRate;
    } else {
      const wantsOriginal = prefs.defaultFormat === 'raw' || (listener.onLan && prefs.lanOriginal);
      if (wantsOriginal && BROWSER_PLAYABLE.has(sourceFormat)) return null;
      format = preferredCodec;
      kbps = prefs.defaultMaxBitRate;
    }
    const target = { format, kbps: clampBitrate(format, kbps) };
    // Never "upgrade" a file that is already this codec at or below the target bitrate.
    const sameCodec = sourceFormat === format || (format === 'aac' && ['m4a', 'mp4', 'aac'].includes(sourceFormat));
    if (query.timeOffset === 0 && sameCodec && track.bitrate !== null && track.bitrate <= target.kbps) return null;
    return target;
  }

  /**
   * Runs a planned transcode under the caps: waits briefly for a slot (503 + Retry-After after),
   * starts ffmpeg and hands back its output. The slot is released when ffmpeg exits.
   */
  async startTranscode(
    plan: Extract<StreamPlan, { kind: 'transcode' }>,
    listener: Listener,
    signal: AbortSignal,
  ): Promise<RunningTranscode> {
    const slot = await this.o.limiter.acquire(listener.key, signal);
    try {
      if (signal.aborted) throw new Unavailable('The client went away.');
      const cacheTarget = plan.cacheName ? { cache: this.o.transcodeCache, name: plan.cacheName } : undefined;
      const running = await this.o.transcoder.start(plan.inputPath, plan.spec, cacheTarget);
      running.done.then(
        () => slot.release(),
        () => slot.release(),
      );
      return running;
    } catch (err) {
      slot.release();
      throw err;
    }
  }
}
