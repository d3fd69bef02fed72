/** Reads a finished cache file's real format, duration and tags (music-metadata) for the catalog. */
import { stat } from 'node:fs/promises';
import type { CachedFileFacts } from '../remote-tracks.repository.js';

const clean = (v: string | undefined | null): string | null => (v && v.trim() !== '' ? v.trim().slice(0, 500) : null);

export async function readCachedFileFacts(absolute: string, relative: string, ext: string): Promise<CachedFileFacts> {
  const info = await stat(absolute);
  let format: CachedFileFacts['format'] = ext === 'bin' ? null : ext;
  let codec: string | null = null;
  let bitrate: number | null = null;
  let sampleRate: number | null = null;
  let channels: number | null = null;
  let duration: number | null = null;
  let title: string | null = null;
  let artist: string | null = null;
  let album: string | null = null;
  try {
    // Loaded on first use: music-metadata is ~70 module files the server's start-up need not load.
    const { parseFile } = await import('music-metadata');
    const meta = await parseFile(absolute, { duration: true, skipCovers: true });
    codec = clean(meta.format.codec);
    bitrate = meta.format.bitrate ? Math.round(meta.format.bitrate / 1000) : null;
    sampleRate = meta.format.sampleRate ?? null;
    channels = meta.format.numberOfChannels ?? null;
    duration = meta.format.duration && Number.isFinite(meta.format.duration) ? meta.format.duration : null;
    title = clean(meta.common.title);
    artist = clean(meta.common.artists?.join(', ') ?? meta.common.artist);
    album = clean(meta.common.album);
    if (!format && meta.format.container) format = meta.format.container.toLowerCase().split('/')[0];
  } catch {
    // An unparsable container still plays; it keeps the service's metadata.
  }
  return {
    localPath: relative,
    size: info.size,
    mtime: Math.round(info.mtimeMs),
    format,
    codec,
    bitrate,
    sampleRate,
    channels,
    duration,
    title,
    artist,
    album,
  };
}
