/**
 * The transcoding menu: which output formats exist, their containers, bitrate bounds, and the
 * exact ffmpeg arguments. Everything that reaches ffmpeg comes from these tables or from numbers
 * parsed here — never a client string (transcode.test.ts).
 */
import { Invalid } from '../shared/errors.js';

export const TRANSCODE_FORMATS = ['opus', 'mp3', 'aac'] as const;
export type TranscodeFormat = (typeof TRANSCODE_FORMATS)[number];
export type RequestedFormat = TranscodeFormat | 'raw';

interface Profile {
  /** ffmpeg encoder and muxer arguments (bitrate appended by {@link ffmpegArgs}). */
  codec: string[];
  muxer: string[];
  contentType: string;
  extension: string;
  minKbps: number;
  maxKbps: number;
  defaultKbps: number;
}

// Containers browsers play from a progressive stream: Ogg Opus, MP3, ADTS AAC.
export const PROFILES: Record<TranscodeFormat, Profile> = {
  opus: {
    // Constrained VBR: near-VBR quality with a bitrate a data plan (and the length estimate) can rely on.
    codec: ['-c:a', 'libopus', '-vbr', 'constrained', '-application', 'audio'],
    muxer: ['-f', 'ogg', '-page_duration', '200000'],
    contentType: 'audio/ogg; codecs=opus',
    extension: 'opus',
    minKbps: 24,
    maxKbps: 256,
    defaultKbps: 128,
  },
  mp3: {
    codec: ['-c:a', 'libmp3lame'],
    muxer: ['-f', 'mp3', '-write_xing', '0'],
    contentType: 'audio/mpeg',
    extension: 'mp3',
    minKbps: 32,
    maxKbps: 320,
    defaultKbps: 192,
  },
  aac: {
    codec: ['-c:a', 'aac'],
    muxer: ['-f', 'adts'],
    contentType: 'audio/aac',
    extension: 'aac',
    minKbps: 32,
    maxKbps: 320,
    defaultKbps: 160,
  },
};

/** Longest seek accepted (a day): anything beyond is a typo or an attack, not a track. */
const MAX_OFFSET_SECONDS = 86_400;

export interface StreamQuery {
  format?: string;
  maxBitRate?: string;
  timeOffset?: string;
}

export interface ParsedStreamQuery {
  format?: RequestedFormat;
  /** kbps; 0 = "no limit" (Subsonic semantics). */
  maxBitRate?: number;
  timeOffset: number;
}

/** Validates the raw query strings; anything outside the allow-lists is a 400 with the field named. */
export function parseStreamQuery(q: StreamQuery): ParsedStreamQuery {
  const out: ParsedStreamQuery = { timeOffset: 0 };
  if (q.format !== undefined && q.format !== '') {
    const f = q.format.toLowerCase();
    if (f === 'raw' || (TRANSCODE_FORMATS as readonly string[]).includes(f)) out.format = f as RequestedFormat;
    else throw new Invalid(`format must be one of raw, ${TRANSCODE_FORMATS.join(', ')}.`, { field: 'format' });
  }
  if (q.maxBitRate !== undefined && q.maxBitRate !== '') {
    if (!/^\d{1,6}$/.test(q.maxBitRate)) {
      throw new Invalid('maxBitRate must be a whole number of kbps (0 = no limit).', { field: 'maxBitRate' });
    }
    out.maxBitRate = Number(q.maxBitRate);
  }
  if (q.timeOffset !== undefined && q.timeOffset !== '') {
    if (!/^\d{1,6}(\.\d{1,3})?$/.test(q.timeOffset)) {
      throw new Invalid('timeOffset must be a number of seconds (e.g. 42 or 42.5).', { field: 'timeOffset' });
    }
    out.timeOffset = Math.min(Number(q.timeOffset), MAX_OFFSET_SECONDS);
  }
  return out;
}

export function clampBitrate(format: TranscodeFormat, kbps: number | undefined): number {
  const p = PROFILES[format];
  if (kbps === undefined || kbps === 0) return p.defaultKbps;
  return Math.min(p.maxKbps, Math.max(p.minKbps, Math.round(kbps)));
}

export interface TranscodeSpec {
  format: TranscodeFormat;
  kbps: number;
  /** Seconds into the source where output starts. */
  offset: number;
}

/** The complete ffmpeg argument array: fixed flags, the resolved input path, allow-listed values. */
export function ffmpegArgs(inputPath: string, spec: TranscodeSpec): string[] {
  const p = PROFILES[spec.format];
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error'];
  // Input seeking (before -i) is fast and sample-accurate for audio in ffmpeg ≥ 2.1.
  if (spec.offset > 0) args.push('-ss', spec.offset.toFixed(3));
  // `file:` keeps a path from ever being read as a protocol or an option.
  args.push('-i', `file:${inputPath}`, '-map', '0:a:0', '-vn', '-sn', '-dn', '-map_metadata', '-1');
  args.push(...p.codec, '-b:a', `${spec.kbps}k`, ...p.muxer, 'pipe:1');
  return args;
}
