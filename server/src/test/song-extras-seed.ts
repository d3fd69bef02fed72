/**
 * Three songs with awkward credits and genres (catalog/song-extras.test.ts and
 * song-extras-reader.test.ts): credits inserted out of order with ties (one artist as `artist` and
 * `albumartist` at one position), names that need escaping, genres out of id order, and a song with
 * neither.
 */
import type { AnyDatabase } from '../db/engine.js';

export async function seedSongExtras(database: AnyDatabase): Promise<void> {
  const db = database.db;
  const artist = (id: string, name: string) => ({
    id,
    name,
    name_key: name.toLowerCase(),
    sort_name: null,
    mbz_artist_id: null,
    artwork_id: null,
    added_at: 0,
    updated_at: 0,
  });
  await db
    .insertInto('artists')
    .values([artist('ar-b', 'Björk'), artist('ar-a', 'Ásgeir "A" <Trausti>'), artist('ar-c', 'Cé & Co')] as never)
    .execute();
  await db
    .insertInto('genres')
    .values([
      { id: 'g2', name: 'Trip-Hop', name_key: 'trip-hop' },
      { id: 'g1', name: 'Électronique', name_key: 'electronique' },
    ] as never)
    .execute();
  const track = (id: string, title: string) => ({
    id,
    title,
    artist: 'Björk',
    album: null,
    genre: null,
    remote_id: null,
    local_path: `${id}.mp3`,
    album_artist: null,
    album_id: null,
    artist_id: null,
    duration: 100,
    added_at: 0,
    updated_at: 0,
  });
  await db
    .insertInto('tracks')
    .values([track('t1', 'Jóga'), track('t2', 'Hyperballad'), track('t3', 'Untagged')] as never)
    .execute();
  await db
    .insertInto('track_artists')
    .values([
      // Inserted out of order: the order read is position, then artist id and role.
      { track_id: 't1', artist_id: 'ar-c', role: 'artist', position: 1 },
      { track_id: 't1', artist_id: 'ar-b', role: 'artist', position: 0 },
      { track_id: 't1', artist_id: 'ar-b', role: 'albumartist', position: 0 },
      { track_id: 't1', artist_id: 'ar-a', role: 'artist', position: 0 },
      { track_id: 't2', artist_id: 'ar-b', role: 'artist', position: 0 },
    ] as never)
    .execute();
  await db
    .insertInto('track_genres')
    .values([
      { track_id: 't1', genre_id: 'g2' },
      { track_id: 't1', genre_id: 'g1' },
      { track_id: 't2', genre_id: 'g2' },
    ] as never)
    .execute();
}
