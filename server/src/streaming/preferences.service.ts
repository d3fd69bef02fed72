/**
 * Per-user streaming quality: the format and bitrate used when a request does not say, whether
 * listeners on the LAN/loopback get the original file, and whether transcodes carry an estimated
 * Content-Length (for players that refuse chunked audio).
 */
import type { Clock } from '../shared/time.js';
import type { StreamRepository } from './stream.repository.js';
import type { StreamPreferences } from './stream.schemas.js';
import { clampBitrate } from './transcode-profiles.js';

/** Original on the LAN, Opus 128 kbps elsewhere: good on mobile data, transparent to most ears. */
export const DEFAULT_PREFERENCES: StreamPreferences = {
  defaultFormat: 'opus',
  defaultMaxBitRate: 128,
  lanOriginal: true,
  estimateContentLength: false,
};

export class StreamPreferencesService {
  constructor(
    private readonly repo: StreamRepository,
    private readonly clock: Clock,
  ) {}

  async get(userId: string): Promise<StreamPreferences> {
    const row = await this.repo.findPreferences(userId);
    if (!row) return { ...DEFAULT_PREFERENCES };
    return {
      defaultFormat: row.default_format,
      defaultMaxBitRate: row.default_max_bitrate,
      lanOriginal: row.lan_original === 1,
      estimateContentLength: row.estimate_content_length === 1,
    };
  }

  async update(userId: string, patch: Partial<StreamPreferences>): Promise<StreamPreferences> {
    const next = { ...(await this.get(userId)), ...patch };
    const format = next.defaultFormat === 'raw' ? 'opus' : next.defaultFormat;
    next.defaultMaxBitRate = clampBitrate(format, next.defaultMaxBitRate);
    await this.repo.upsertPreferences({
      user_id: userId,
      default_format: next.defaultFormat,
      default_max_bitrate: next.defaultMaxBitRate,
      lan_original: next.lanOriginal ? 1 : 0,
      estimate_content_length: next.estimateContentLength ? 1 : 0,
      updated_at: this.clock.now(),
    });
    return next;
  }
}
