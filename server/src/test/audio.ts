/**
 * Generates real audio files for tests with ffmpeg (never committed binaries).
 *
 * @example
 *   const file = await makeAudio(join(dir, 'Artist/Album/01 - Song.mp3'), {
 *     seconds: 3, tags: { title: 'Song', artist: 'Artist', album: 'Album', track: '1' } });
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type AudioFormat = 'mp3' | 'flac' | 'm4a' | 'ogg' | 'opus' | 'wav';

const CODEC_ARGS: Record<AudioFormat, string[]> = {
  mp3: ['-c:a', 'libmp3lame', '-b:a', '128k', '-id3v2_version', '4'],
  flac: ['-c:a', 'flac'],
  m4a: ['-c:a', 'aac', '-b:a', '128k', '-movflags', '+faststart'],
  ogg: ['-c:a', 'libvorbis', '-q:a', '3'],
  opus: ['-c:a', 'libopus', '-b:a', '96k'],
  wav: ['-c:a', 'pcm_s16le'],
};

export interface AudioOptions {
  seconds?: number;
  /** Sine frequency; different values give files with different content hashes. */
  frequency?: number;
  sampleRate?: number;
  channels?: 1 | 2;
  /** ffmpeg metadata keys: title, artist, album, album_artist, track, disc, date, genre, comment … */
  tags?: Record<string, string>;
  /** Optional cover image file to embed (mp3, flac, m4a). */
  coverPath?: string;
  /** ID3 version for mp3 (3 or 4). */
  id3v2Version?: 3 | 4;
}

export async function makeAudio(path: string, options: AudioOptions = {}): Promise<string> {
  const format = extname(path).slice(1).toLowerCase() as AudioFormat;
  const codec = CODEC_ARGS[format];
  if (!codec) throw new Error(`makeAudio: unsupported extension ${format}`);
  await mkdir(dirname(path), { recursive: true });
  const seconds = options.seconds ?? 2;
  const rate = options.sampleRate ?? (format === 'opus' ? 48000 : 44100);
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${options.frequency ?? 440}:sample_rate=${rate}:duration=${seconds}`,
  ];
  const withCover = options.coverPath && ['mp3', 'flac', 'm4a'].includes(format);
  if (withCover) args.push('-i', options.coverPath!);
  args.push('-map', '0:a');
  if (withCover)
    args.push('-map', '1:v', '-c:v', format === 'm4a' ? 'mjpeg' : 'copy', '-disposition:v', 'attached_pic');
  args.push('-ac', String(options.channels ?? 2), ...codec);
  if (format === 'mp3' && options.id3v2Version) {
    const i = args.indexOf('-id3v2_version');
    args[i + 1] = String(options.id3v2Version);
  }
  for (const [k, v] of Object.entries(options.tags ?? {})) args.push('-metadata', `${k}=${v}`);
  args.push(path);
  await run('ffmpeg', args, { timeout: 60_000 });
  return path;
}

/** A small JPEG/PNG made by ffmpeg (solid colour), for artwork tests. */
export async function makeImage(
  path: string,
  options: { width?: number; height?: number; color?: string } = {},
): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const size = `${options.width ?? 300}x${options.height ?? 300}`;
  await run(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `color=c=${options.color ?? 'red'}:s=${size}:d=1`,
      '-frames:v',
      '1',
      path,
    ],
    { timeout: 30_000 },
  );
  return path;
}
