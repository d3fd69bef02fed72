/**
 * Generates real audio files for tests with ffmpeg (never committed binaries).
 *
 * Each distinct file is made once: ffmpeg's output goes to a cache in the temp dir, keyed by the
 * ffmpeg arguments (and the cover's bytes), and every call copies it to its path — a fresh file
 * with a fresh mtime, as if ffmpeg had just written it. Files on both engines, and files run again,
 * used to run ffmpeg for the same bytes each time (hundreds of runs in the suite).
 *
 * @example
 *   const file = await makeAudio(join(dir, 'Artist/Album/01 - Song.mp3'), {
 *     seconds: 3, tags: { title: 'Song', artist: 'Artist', album: 'Album', track: '1' } });
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Bump when the way files are made changes in a way their arguments do not show. */
const CACHE_VERSION = 1;
const CACHE = join(tmpdir(), `earshot-test-media-v${CACHE_VERSION}`);

/**
 * Runs ffmpeg with `args` (output last, given as `out`) through the cache and copies the result to
 * `path`. `inputs` are files ffmpeg reads, hashed by content (their paths differ from run to run).
 * Concurrent workers may both make a missing file; each writes its own temporary name and renames
 * it into place, so a reader never sees a partial file.
 */
async function cachedFfmpeg(
  path: string,
  ext: string,
  inputs: string[],
  args: (out: string) => string[],
  timeout: number,
): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify(args('<out>')));
  for (const input of inputs) hash.update(await readFile(input));
  const cachedFile = join(CACHE, `${hash.digest('hex').slice(0, 32)}.${ext}`);
  const present = await stat(cachedFile).then(
    (s) => s.size > 0,
    () => false,
  );
  if (!present) {
    await mkdir(CACHE, { recursive: true });
    const tmp = join(CACHE, `${process.pid}-${Math.random().toString(36).slice(2)}.tmp.${ext}`);
    try {
      await run('ffmpeg', args(tmp), { timeout });
      await rename(tmp, cachedFile);
    } finally {
      await rm(tmp, { force: true });
    }
  }
  await mkdir(dirname(path), { recursive: true });
  await copyFile(cachedFile, path);
  return path;
}

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
  const coverAt = withCover ? args.indexOf(options.coverPath!) : -1;
  return cachedFfmpeg(
    path,
    format,
    withCover ? [options.coverPath!] : [],
    // The cover's path is replaced by its bytes in the key (cachedFfmpeg hashes the inputs).
    (out) => [...args.map((a, i) => (i === coverAt && out === '<out>' ? '<cover>' : a)), out],
    60_000,
  );
}

/** A small JPEG/PNG made by ffmpeg (solid colour), for artwork tests. */
export async function makeImage(
  path: string,
  options: { width?: number; height?: number; color?: string } = {},
): Promise<string> {
  const size = `${options.width ?? 300}x${options.height ?? 300}`;
  const ext = extname(path).slice(1).toLowerCase();
  return cachedFfmpeg(
    path,
    ext,
    [],
    (out) => [
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
      out,
    ],
    30_000,
  );
}
