/**
 * A song's credits and genres read with its row in one statement (song-extras.ts, what search3
 * reads for songs nobody asked for yet) equal the separate reads, on both engines: credits in tag
 * order with ties (the same artist as `artist` and `albumartist` at one position) in a fixed
 * order, genres in a fixed order, nothing for a song without either, unknown ids skipped, and no
 * extra field on the row. Credits whose tag order disagrees with the key order, and artist ids
 * that sort differently by bytes and by letters (or past U+FFFF), come out of the ordered
 * aggregates as the engine's own ORDER BY gives them.
 */
import { describe, expect, it } from 'vitest';
import type { AnyDatabase } from '../db/engine.js';
import { insertArtist } from '../test/catalog-rows.js';
import { forEachEngine } from '../test/engines.js';
import { BrowseRepository } from './browse.repository.js';

async function seed(database: AnyDatabase): Promise<void> {
  const db = database.db;
  // Fixed ids: credits at the same position are read in artist-id order.
  await insertArtist(db, 'Björk', 'ar-b');
  await insertArtist(db, 'Ásgeir "A" <Trausti>', 'ar-a');
  await insertArtist(db, 'Cé & Co', 'ar-c');
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

forEachEngine((engine) => {
  describe('songs with credits and genres in one statement', () => {
    it('equal the row, credits and genres read separately', async () => {
      const database = await engine.open();
      await seed(database);
      const browse = new BrowseRepository(database.db);
      const ids = ['t3', 'nope', 't1', 't2'];
      const together = await browse.songsWithExtras(ids);
      expect(together.map((s) => s.row.id).sort()).toEqual(['t1', 't2', 't3']);
      const [rows, credits, genres] = await Promise.all([
        browse.songs(ids),
        browse.creditsOf(ids),
        browse.genresOf(ids),
      ]);
      const apart = rows.map((row) => ({ row, credits: credits.get(row.id) ?? [], genres: genres.get(row.id) }));
      const byId = (list: typeof apart) => [...list].sort((a, b) => a.row.id.localeCompare(b.row.id));
      expect(byId(together)).toEqual(byId(apart));
      const t1 = together.find((s) => s.row.id === 't1');
      expect(t1?.credits).toEqual([
        { id: 'ar-a', name: 'Ásgeir "A" <Trausti>', role: 'artist' },
        { id: 'ar-b', name: 'Björk', role: 'albumartist' },
        { id: 'ar-b', name: 'Björk', role: 'artist' },
        { id: 'ar-c', name: 'Cé & Co', role: 'artist' },
      ]);
      expect(t1?.genres).toEqual(['Électronique', 'Trip-Hop']);
      const t3 = together.find((s) => s.row.id === 't3');
      expect(t3?.credits).toEqual([]);
      expect(t3?.genres).toBeUndefined();
      expect(Object.keys(t1?.row ?? {}).sort()).toEqual(Object.keys(rows[0]).sort());
      expect(await browse.songsWithExtras([])).toEqual([]);
    });

    it('order credits and genres as the engine orders them, whatever order the rows are stored in', async () => {
      const database = await engine.open();
      await seed(database);
      const db = database.db;
      const artist = (id: string, name: string) => ({
        id,
        name,
        name_key: name.toLowerCase(),
        added_at: 0,
        updated_at: 0,
      });
      await db
        .insertInto('artists')
        .values([
          artist('ar-Z', 'Zed'),
          artist('ar-é', 'Accent'),
          artist('ar-😀', 'Emoji'),
          artist('ar-\uffee', 'Wide'),
        ] as never)
        .execute();
      await db
        .insertInto('genres')
        .values([{ id: 'G0', name: 'Ambient', name_key: 'ambient' }] as never)
        .execute();
      await db
        .insertInto('tracks')
        .values([{ id: 't4', title: 'Many', local_path: 't4.mp3', duration: 1, added_at: 0, updated_at: 0 }] as never)
        .execute();
      await db
        .insertInto('track_artists')
        .values([
          // Position order against id order; ids that sort apart by bytes and by letters, and
          // past U+FFFF against U+FFEE (UTF-16 and UTF-8 order disagree there).
          { track_id: 't4', artist_id: 'ar-a', role: 'artist', position: 3 },
          { track_id: 't4', artist_id: 'ar-c', role: 'artist', position: 0 },
          { track_id: 't4', artist_id: 'ar-b', role: 'artist', position: 1 },
          { track_id: 't4', artist_id: 'ar-Z', role: 'artist', position: 1 },
          { track_id: 't4', artist_id: 'ar-é', role: 'albumartist', position: 1 },
          { track_id: 't4', artist_id: 'ar-😀', role: 'artist', position: 2 },
          { track_id: 't4', artist_id: 'ar-\uffee', role: 'artist', position: 2 },
        ] as never)
        .execute();
      await db
        .insertInto('track_genres')
        .values([
          { track_id: 't4', genre_id: 'g2' },
          { track_id: 't4', genre_id: 'G0' },
          { track_id: 't4', genre_id: 'g1' },
        ] as never)
        .execute();
      const browse = new BrowseRepository(db);
      const [song] = await browse.songsWithExtras(['t4']);
      const credits = (await browse.creditsOf(['t4'])).get('t4');
      expect(credits).toHaveLength(7);
      expect(song.credits).toEqual(credits);
      expect(song.genres).toEqual((await browse.genresOf(['t4'])).get('t4'));
      if (engine.name === 'sqlite') {
        // SQLite's BINARY order, spelled out: not the insertion order, nor the key order alone.
        expect(song.credits.map((c) => c.id)).toEqual(['ar-c', 'ar-Z', 'ar-b', 'ar-é', 'ar-\uffee', 'ar-😀', 'ar-a']);
        expect(song.genres).toEqual(['Ambient', 'Électronique', 'Trip-Hop']);
      }
    });
  });
});
