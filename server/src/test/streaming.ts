/**
 * Fixtures for streaming and share tests: real audio files in the music dir with their `tracks`
 * rows inserted directly (the scanner is not needed to test streaming), artwork rows, albums.
 */
import { execFile } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import type { Earshot } from '../main.js';
import { newId } from '../shared/ids.js';
import { type AudioOptions, makeAudio } from './audio.js';

const run = promisify(execFile);

export interface TrackFixture {
  id: string;
  path: string;
  size: number;
}

/** A noise-like source (pink noise + two sines) so VBR encoders really reach their bitrate. */
export async function makeNoiseAudio(path: string, seconds: number): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
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
      `anoisesrc=color=pink:amplitude=0.4:sample_rate=44100:duration=${seconds}`,
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=330:sample_rate=44100:duration=${seconds}`,
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=1250:sample_rate=44100:duration=${seconds}`,
      '-filter_complex',
      '[0:a][1:a][2:a]amix=inputs=3,aformat=channel_layouts=stereo[a]',
      '-map',
      '[a]',
      '-c:a',
      'flac',
      path,
    ],
    { timeout: 60_000 },
  );
  return path;
}

export interface InsertTrackOptions {
  title?: string;
  artist?: string | null;
  album?: string | null;
  albumId?: string | null;
  artworkId?: string | null;
  duration?: number;
  bitrate?: number | null;
  sourceType?: 'local' | 'youtube';
  isCached?: 0 | 1;
  /** Stored `local_path` override (e.g. traversal attempts). */
  localPath?: string | null;
  format?: string;
}

/** Inserts a `tracks` row for an existing file under the music dir (or cache dir for remote). */
export async function insertTrackRow(
  earshot: Earshot,
  absPath: string | null,
  o: InsertTrackOptions = {},
): Promise<TrackFixture> {
  const id = newId();
  const now = Date.now();
  const root = o.sourceType === 'youtube' ? earshot.paths.cacheDir : earshot.paths.musicDir;
  const st = absPath ? await stat(absPath) : null;
  await earshot.database.db
    .insertInto('tracks')
    .values({
      id,
      source_type: o.sourceType ?? 'local',
      remote_id: o.sourceType === 'youtube' ? `yt-${id}` : null,
      local_path: o.localPath !== undefined ? o.localPath : absPath ? relative(root, absPath) : null,
      is_cached: o.isCached ?? 0,
      title: o.title ?? 'Song',
      artist: o.artist ?? 'Artist',
      album: o.album ?? null,
      album_artist: null,
      album_id: o.albumId ?? null,
      artist_id: null,
      track_number: null,
      track_total: null,
      disc_number: null,
      disc_total: null,
      year: null,
      date: null,
      genre: null,
      duration: o.duration ?? null,
      format: o.format ?? (absPath ? absPath.split('.').pop()! : null),
      codec: null,
      bitrate: o.bitrate ?? null,
      sample_rate: null,
      channels: null,
      size: st?.size ?? null,
      mtime: st ? Math.floor(st.mtimeMs) : null,
      content_hash: null,
      rg_track_gain: null,
      rg_track_peak: null,
      rg_album_gain: null,
      rg_album_peak: null,
      mbz_track_id: null,
      mbz_recording_id: null,
      mbz_album_id: null,
      mbz_artist_id: null,
      mbz_album_artist_id: null,
      lyrics: null,
      comment: null,
      artwork_id: o.artworkId ?? null,
      thumbnail_url: null,
      added_by: null,
      added_at: now,
      updated_at: now,
    })
    .execute();
  return { id, path: absPath ?? '', size: st?.size ?? 0 };
}

/** makeAudio under the music dir + its row. */
export async function addLocalTrack(
  earshot: Earshot,
  relPath: string,
  audio: AudioOptions = {},
  row: InsertTrackOptions = {},
): Promise<TrackFixture> {
  const abs = join(earshot.paths.musicDir, relPath);
  await makeAudio(abs, audio);
  return insertTrackRow(earshot, abs, { duration: audio.seconds ?? 2, ...row });
}

export async function addAlbum(earshot: Earshot, name: string, artworkId: string | null = null): Promise<string> {
  const id = newId();
  const now = Date.now();
  await earshot.database.db
    .insertInto('albums')
    .values({
      id,
      name,
      sort_name: null,
      group_key: `${name}-${id}`,
      album_artist: 'Artist',
      artist_id: null,
      year: 2001,
      genre: null,
      mbz_album_id: null,
      artwork_id: artworkId,
      added_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}

/** An `artwork` row for a file already under the cache dir. */
export async function addArtworkRow(earshot: Earshot, absPath: string, mime = 'image/jpeg'): Promise<string> {
  const id = newId(32);
  const st = await stat(absPath);
  await earshot.database.db
    .insertInto('artwork')
    .values({
      id,
      path: relative(earshot.paths.cacheDir, absPath),
      mime,
      width: null,
      height: null,
      size: st.size,
      source: 'embedded',
      created_at: Date.now(),
    })
    .execute();
  return id;
}

/** Probes a file or buffer path with ffprobe: codec, container, duration, bitrate. */
export async function ffprobe(path: string) {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=format_name,duration,bit_rate:stream=codec_name,sample_rate',
    '-of',
    'json',
    path,
  ]);
  const j = JSON.parse(stdout) as {
    format: { format_name: string; duration?: string; bit_rate?: string };
    streams: { codec_name: string; sample_rate?: string }[];
  };
  return {
    container: j.format.format_name,
    duration: j.format.duration ? Number(j.format.duration) : Number.NaN,
    bitRate: j.format.bit_rate ? Number(j.format.bit_rate) : Number.NaN,
    codec: j.streams[0]?.codec_name,
  };
}

/** Decodes a whole file; returns ffmpeg's error output (empty when clean). */
export async function decodeErrors(path: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-i', path, '-f', 'null', '-']);
  return stderr.trim();
}
