/**
 * A song's credits and genres read with its row in one statement (song-extras.ts, what search3
 * reads for songs nobody asked for yet) equal the separate reads, on both engines: credits in tag
 * order with ties (the same artist as `artist` and `albumartist` at one position) in a fixed
 * order, genres in a fixed order, nothing for a song without either, unknown ids skipped, and no
 * extra field on the row.
 */
import { describe, expect, it } from 'vitest';
import { forEachEngine } from '../test/engines.js';
import { seedSongExtras as seed } from '../test/song-extras-seed.js';
import { BrowseRepository } from './browse.repository.js';

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
  });
});
