/**
 * Realistic audio fixtures: 3–6 minute files in every supported format, shaped like real
 * collections (covers as taggers write them, yt-dlp's Opus files, tags past the first 256 KiB).
 * Made with ffmpeg at low bitrates and cached in the temp dir by a hash of what they are, so only
 * the first run pays for them; copy them into a test's music folder with `placeFixture`.
 *
 * @example
 *   const src = await realisticFile('opus', { seconds: 200, tags: { title: 'T' }, cover: 'small' });
 *   await placeFixture(src, join(music, 'A/B/01.opus'));
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Bump when the way fixtures are made changes (the cache key includes it). */
const GENERATOR = 4;
export const FIXTURE_CACHE = join(tmpdir(), 'earshot-realistic-fixtures');

export type RealisticKind =
  | 'mp3-cbr'
  | 'mp3-cbr-noinfo'
  | 'mp3-vbr'
  | 'mp3-vbr-noxing'
  | 'flac'
  | 'm4a-aac'
  | 'm4a-aac-moov-end'
  | 'm4a-alac'
  | 'ogg-vorbis'
  | 'opus'
  | 'ogg-flac'
  | 'wav'
  | 'aiff'
  | 'wma';

/** Extension, sample rate, channels and codec arguments of each kind (small but real). */
const KINDS: Record<RealisticKind, { ext: string; rate: number; args: string[] }> = {
  'mp3-cbr': { ext: 'mp3', rate: 22050, args: ['-c:a', 'libmp3lame', '-b:a', '32k'] },
  'mp3-cbr-noinfo': { ext: 'mp3', rate: 22050, args: ['-c:a', 'libmp3lame', '-b:a', '32k', '-write_xing', '0'] },
  'mp3-vbr': { ext: 'mp3', rate: 22050, args: ['-c:a', 'libmp3lame', '-q:a', '8'] },
  'mp3-vbr-noxing': { ext: 'mp3', rate: 22050, args: ['-c:a', 'libmp3lame', '-q:a', '8', '-write_xing', '0'] },
  flac: { ext: 'flac', rate: 8000, args: ['-c:a', 'flac'] },
  'm4a-aac': { ext: 'm4a', rate: 22050, args: ['-c:a', 'aac', '-b:a', '24k', '-movflags', '+faststart'] },
  'm4a-aac-moov-end': { ext: 'm4a', rate: 22050, args: ['-c:a', 'aac', '-b:a', '24k'] },
  'm4a-alac': { ext: 'm4a', rate: 8000, args: ['-c:a', 'alac'] },
  'ogg-vorbis': { ext: 'ogg', rate: 22050, args: ['-c:a', 'libvorbis', '-q:a', '0'] },
  // libopus encodes at 48 kHz whatever the input; 24 kHz input checks the 48 kHz granule rule.
  opus: { ext: 'opus', rate: 24000, args: ['-c:a', 'libopus', '-b:a', '16k'] },
  'ogg-flac': { ext: 'oga', rate: 8000, args: ['-c:a', 'flac', '-f', 'ogg'] },
  wav: { ext: 'wav', rate: 8000, args: ['-c:a', 'pcm_s16le'] },
  aiff: { ext: 'aiff', rate: 8000, args: ['-c:a', 'pcm_s16be', '-write_id3v2', '1'] },
  wma: { ext: 'wma', rate: 22050, args: ['-c:a', 'wmav2', '-b:a', '32k'] },
};

export const REALISTIC_KINDS = Object.keys(KINDS) as RealisticKind[];
/** Kinds that can carry an embedded cover (ffmpeg writes none into WAV, nor a WM/Picture into WMA). */
export const COVER_KINDS: RealisticKind[] = REALISTIC_KINDS.filter((k) => k !== 'wav' && k !== 'wma');
export const extensionOf = (kind: RealisticKind) => KINDS[kind].ext;

export interface RealisticOptions {
  seconds: number;
  /** Tone under the noise; different values make different content. */
  frequency?: number;
  tags?: Record<string, string>;
  /**
   * An embedded cover: `small` (a 500×500 JPEG of ~30 KB) or `large` (a noisy 1000×1000 JPEG over
   * 256 KiB). Ogg files get it as a METADATA_BLOCK_PICTURE comment, as mutagen/picard/beets write it.
   */
  cover?: 'small' | 'large';
  /** Seconds of silence before the signal (a VBR encoder starts at one low bitrate over it). */
  leadingSilence?: number;
}

/**
 * At most two ffmpeg runs at a time: the machine is shared. Only the ffmpeg processes wait here,
 * never a fixture's whole making: a fixture's maker may need another fixture first (a cover), and
 * two makers holding both slots while they wait for the cover's ffmpeg never ended (a fresh
 * machine's empty cache: engines.test's set-up hung until its 15-minute timeout).
 */
let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Returns the cached file for `key`, making it with `make(tmpPath)` first when absent. */
async function cached(key: unknown, ext: string, make: (out: string) => Promise<void>): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify({ GENERATOR, key })).digest('hex').slice(0, 20);
  const path = join(FIXTURE_CACHE, `${hash}.${ext}`);
  if (existsSync(path)) return path;
  await mkdir(FIXTURE_CACHE, { recursive: true });
  const tmp = join(FIXTURE_CACHE, `${hash}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp.${ext}`);
  try {
    await make(tmp);
    // Parallel test files may make the same fixture, and two makings differ (the noise is random):
    // the first one in stays — a file once returned never changes under a test comparing two scans.
    await link(tmp, path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(tmp, { force: true });
  }
  return path;
}

async function ffmpeg(args: string[]): Promise<void> {
  await limited(() => run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { timeout: 180_000 }));
}

/** A tone in pink noise with a slow tremolo: VBR encoders vary their bitrate over it like over music. */
function signal(seconds: number, rate: number, frequency: number, silence = 0): string[] {
  const delay = silence > 0 ? `,adelay=delays=${silence * 1000}:all=1` : '';
  return [
    '-f',
    'lavfi',
    '-i',
    `sine=f=${frequency}:sample_rate=${rate}:d=${seconds}`,
    '-f',
    'lavfi',
    '-i',
    `anoisesrc=c=pink:a=0.08:r=${rate}:d=${seconds}`,
    '-filter_complex',
    `[0:a][1:a]amix=inputs=2,tremolo=f=0.25:d=0.8${delay}[a]`,
  ];
}

export interface CoverImage {
  path: string;
  width: number;
  height: number;
}

export function coverImage(size: 'small' | 'large' | 'thumbnail'): Promise<CoverImage> {
  const spec = {
    small: { width: 500, height: 500, filter: 'testsrc2=s=500x500:d=1', q: '6' },
    large: { width: 1000, height: 1000, filter: 'color=c=gray:s=1000x1000:d=1,noise=alls=90:allf=t', q: '2' },
    thumbnail: { width: 1280, height: 720, filter: 'testsrc2=s=1280x720:d=1,noise=alls=20:allf=t', q: '4' },
  }[size];
  return cached({ cover: spec }, 'jpg', (out) =>
    ffmpeg(['-f', 'lavfi', '-i', spec.filter, '-frames:v', '1', '-q:v', spec.q, out]),
  ).then((path) => ({ path, width: spec.width, height: spec.height }));
}

/**
 * A FLAC picture block (front cover), base64: the METADATA_BLOCK_PICTURE Vorbis comment that
 * mutagen, picard, beets and yt-dlp `--embed-thumbnail` write into Ogg Vorbis and Opus files.
 */
export function blockPicture(image: Buffer, mime: string, width: number, height: number, description = ''): string {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const mimeBytes = Buffer.from(mime, 'ascii');
  const desc = Buffer.from(description, 'utf8');
  return Buffer.concat([
    u32(3), // front cover
    u32(mimeBytes.length),
    mimeBytes,
    u32(desc.length),
    desc,
    u32(width),
    u32(height),
    u32(24), // colour depth
    u32(0), // not indexed
    u32(image.length),
    image,
  ]).toString('base64');
}

let metadataFiles = 0;

/**
 * An ffmetadata file (long values such as a base64 picture do not fit on a command line). Its name
 * is unique per call: two fixtures with the same tags are often made at once, and each removes its
 * file when its ffmpeg ends (a name shared by content let one remove the other's before ffmpeg read it).
 */
export async function metadataFile(tags: Record<string, string>): Promise<string> {
  const quote = (s: string) => s.replace(/[=;#\\\n]/g, (c) => `\\${c}`);
  const text = `;FFMETADATA1\n${Object.entries(tags)
    .map(([k, v]) => `${quote(k)}=${quote(v)}`)
    .join('\n')}\n`;
  await mkdir(FIXTURE_CACHE, { recursive: true });
  const path = join(FIXTURE_CACHE, `meta-${process.pid}-${++metadataFiles}.txt`);
  await writeFile(path, text);
  return path;
}

async function pictureTag(size: 'small' | 'large' | 'thumbnail'): Promise<string> {
  const img = await coverImage(size);
  return blockPicture(await readFile(img.path), 'image/jpeg', img.width, img.height);
}

/** A realistic file of `kind` (cached); the returned path must not be modified. */
export function realisticFile(kind: RealisticKind, options: RealisticOptions): Promise<string> {
  const { ext, rate, args } = KINDS[kind];
  return cached({ kind, options }, ext, async (out) => {
    const ogg = ext === 'ogg' || ext === 'opus' || ext === 'oga';
    if (options.cover && !COVER_KINDS.includes(kind)) throw new Error(`realisticFile: no cover in ${kind}`);
    const tags = { ...options.tags };
    if (options.cover && ogg) tags.METADATA_BLOCK_PICTURE = await pictureTag(options.cover);
    const meta = await metadataFile(tags);
    const input = [...signal(options.seconds, rate, options.frequency ?? 330, options.leadingSilence), '-i', meta];
    const maps = ['-map', '[a]', '-map_metadata', '2'];
    if (options.cover && !ogg) {
      const img = await coverImage(options.cover);
      input.push('-i', img.path);
      maps.push('-map', '3:v', '-c:v', 'copy', '-disposition:v', 'attached_pic');
    }
    const id3 = ext === 'mp3' ? ['-id3v2_version', '4'] : [];
    try {
      await ffmpeg([...input, ...maps, '-ac', '1', ...args, ...id3, out]);
    } finally {
      await rm(meta, { force: true });
    }
  });
}

/**
 * An Opus file as yt-dlp makes it with `-x --embed-thumbnail --embed-metadata`: YouTube's Opus
 * stream remuxed from WebM to Ogg by ffmpeg (stereo, 48 kHz, a pre-skip), its metadata (upload
 * date as YYYYMMDD, description, synopsis, purl, comment with the page address) and the 1280×720
 * thumbnail as a METADATA_BLOCK_PICTURE added by mutagen.
 */
export function ytDlpOpus(options: { seconds: number; title: string; artist: string; frequency?: number }) {
  return cached({ ytdlp: options }, 'opus', async (out) => {
    const webm = `${out}.webm`;
    const url = `https://www.youtube.com/watch?v=${createHash('md5').update(options.title).digest('hex').slice(0, 11)}`;
    const description = `${options.title} — official audio\n\nListen everywhere: ${url}\n${'Lyrics and credits. '.repeat(40)}`;
    const meta = await metadataFile({
      title: options.title,
      artist: options.artist,
      date: '20210314',
      description,
      synopsis: description,
      purl: url,
      comment: url,
      METADATA_BLOCK_PICTURE: await pictureTag('thumbnail'),
    });
    try {
      await ffmpeg([
        ...signal(options.seconds, 48000, options.frequency ?? 440),
        '-map',
        '[a]',
        '-ac',
        '2',
        '-c:a',
        'libopus',
        '-b:a',
        '24k',
        webm,
      ]);
      await ffmpeg(['-i', webm, '-i', meta, '-map', '0:a', '-map_metadata', '1', '-c', 'copy', '-f', 'opus', out]);
    } finally {
      await rm(webm, { force: true });
      await rm(meta, { force: true });
    }
  });
}

/**
 * An MP3 whose text frames sit past the first 256 KiB: an ID3v2.4 tag with a large front cover
 * (APIC) first, as some taggers order it, then the text frames and 4 KiB of padding.
 */
export function mp3WithLateTags(options: { seconds: number; tags: Record<'TIT2' | 'TPE1' | 'TALB' | 'TRCK', string> }) {
  return cached({ late: options }, 'mp3', async (out) => {
    const raw = `${out}.raw.mp3`;
    await ffmpeg([
      ...signal(options.seconds, 22050, 370),
      '-map',
      '[a]',
      '-ac',
      '1',
      ...KINDS['mp3-vbr'].args,
      '-id3v2_version',
      '0',
      '-write_id3v1',
      '0',
      raw,
    ]);
    const img = await readFile((await coverImage('large')).path);
    const apic = Buffer.concat([Buffer.from('\x00image/jpeg\x00\x03\x00', 'latin1'), img]);
    const frames: [string, Buffer][] = [['APIC', apic]];
    for (const [id, text] of Object.entries(options.tags)) frames.push([id, Buffer.from(`\x03${text}`, 'utf8')]);
    const audio = await readFile(raw);
    await rm(raw, { force: true });
    await writeFile(out, Buffer.concat([id3v24(frames, 4096), audio]));
  });
}

function syncsafe(n: number): Buffer {
  return Buffer.from([(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f]);
}

function id3v24(frames: [string, Buffer][], padding: number): Buffer {
  const parts: Buffer[] = [];
  for (const [id, body] of frames) parts.push(Buffer.from(id, 'latin1'), syncsafe(body.length), Buffer.alloc(2), body);
  const body = Buffer.concat([...parts, Buffer.alloc(padding)]);
  return Buffer.concat([Buffer.from('ID3\x04\x00\x00', 'latin1'), syncsafe(body.length), body]);
}

/**
 * Copies a cached fixture to `dest` (creating folders), dated an hour ago: the scanner defers
 * files modified in the last 2 s (still being copied), and a test should not sleep for that.
 */
export async function placeFixture(src: string, dest: string): Promise<string> {
  await mkdir(dirname(dest), { recursive: true });
  await copyFile(src, dest);
  const anHourAgo = new Date(Date.now() - 3_600_000);
  await utimes(dest, anHourAgo, anHourAgo);
  return dest;
}

/**
 * ffprobe's duration of a file. `decode: true` adds up the packets instead of taking the
 * container's figure: for an MP3 without a Xing header ffprobe itself only estimates from the
 * first frame's bitrate ("Estimating duration from bitrate, this may be inaccurate").
 */
export async function ffprobeDuration(path: string, options: { packets?: boolean } = {}): Promise<number> {
  if (options.packets) {
    const { stdout } = await run(
      'ffprobe',
      [
        '-v',
        'error',
        '-select_streams',
        'a:0',
        '-show_entries',
        'packet=pts_time,duration_time',
        '-of',
        'csv=p=0',
        path,
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    let end = 0;
    for (const line of stdout.split('\n')) {
      const [pts, duration] = line.split(',').map(Number);
      if (Number.isFinite(pts) && Number.isFinite(duration)) end = Math.max(end, pts + duration);
    }
    return end;
  }
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path]);
  return Number(stdout.trim());
}
