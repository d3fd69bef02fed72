/**
 * Catalog rows for listening tests, inserted directly (the scanner is another area's work).
 * Not used by the server itself.
 */
import type { Db } from '../db/database.js';
import { newId } from '../shared/ids.js';

export interface TrackFixture {
  title: string;
  artist?: string;
  album?: string;
  duration?: number | null;
  localPath?: string | null;
  source?: 'local' | 'youtube';
  albumId?: string | null;
  artistId?: string | null;
  addedAt?: number;
  cached?: boolean;
}

export async function insertTrack(db: Db, f: TrackFixture): Promise<string> {
  const id = newId();
  const now = f.addedAt ?? Date.now();
  const source = f.source ?? 'local';
  await db
    .insertInto('tracks')
    .values({
      id,
      source_type: source,
      remote_id: source === 'local' ? null : `rid-${id}`,
      local_path: source === 'local' ? (f.localPath ?? `${f.artist ?? 'Unknown'}/${f.title}.mp3`) : null,
      is_cached: f.cached ? 1 : 0,
      title: f.title,
      artist: f.artist ?? null,
      album: f.album ?? null,
      album_artist: f.artist ?? null,
      album_id: f.albumId ?? null,
      artist_id: f.artistId ?? null,
      track_number: null,
      track_total: null,
      disc_number: null,
      disc_total: null,
      year: null,
      date: null,
      genre: null,
      duration: f.duration === undefined ? 200 : f.duration,
      format: 'mp3',
      codec: null,
      bitrate: 192,
      sample_rate: null,
      channels: null,
      size: 1000,
      mtime: now,
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
      artwork_id: null,
      thumbnail_url: null,
      added_by: null,
      added_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}

/** An artist row (`id`: a fixed one where a test's order depends on it). */
export async function insertArtist(db: Db, name: string, id = newId()): Promise<string> {
  const now = Date.now();
  await db
    .insertInto('artists')
    .values({
      id,
      name,
      name_key: name.toLowerCase(),
      sort_name: null,
      mbz_artist_id: null,
      artwork_id: null,
      added_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}

export async function insertAlbum(
  db: Db,
  name: string,
  artist: string,
  artistId: string | null,
  addedAt = Date.now(),
): Promise<string> {
  const id = newId();
  await db
    .insertInto('albums')
    .values({
      id,
      name,
      sort_name: null,
      group_key: `${artist.toLowerCase()}\u001f${name.toLowerCase()}`,
      album_artist: artist,
      artist_id: artistId,
      year: null,
      genre: null,
      mbz_album_id: null,
      artwork_id: null,
      added_at: addedAt,
      updated_at: addedAt,
    })
    .execute();
  return id;
}
