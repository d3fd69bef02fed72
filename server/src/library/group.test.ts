/**
 * The group phase's album aggregates (group.repository.ts and its PostgreSQL twin) on both engines.
 */
import { describe, expect, it } from 'vitest';
import { forEachEngine } from '../test/engines.js';
import { scanStores } from './scan-store.js';

forEachEngine((engine) => {
  describe('album duration', () => {
    it('is the sum of its tracks to the millisecond, whatever order the engine adds them in', async () => {
      const database = await engine.open();
      const { db } = database;
      const now = Date.now();
      await db
        .insertInto('albums')
        .values({
          id: 'al1',
          name: 'Sums',
          group_key: 'x\u001fsums',
          album_artist: 'A',
          added_at: now,
          updated_at: now,
        })
        .execute();
      // In floating point, 0.1 + 0.2 + 0.3 is 0.6000000000000001 and 0.3 + 0.2 + 0.1 is 0.6: the
      // order a GROUP BY adds rows in is the engine's (CI once saw SQLite and PostgreSQL differ in
      // the last digit of a 14-track album).
      const durations = [0.1, 0.2, 0.3, 181.8271655328798, 262.0604081632653];
      await db
        .insertInto('tracks')
        .values(
          durations.map((duration, i) => ({
            id: `t${i}`,
            title: `Track ${i}`,
            album_id: 'al1',
            track_number: i + 1,
            duration,
            local_path: `sums/${i}.flac`,
            added_at: now,
            updated_at: now,
          })),
        )
        .execute();
      await scanStores(database).group.regroup(now, async () => {});
      const album = await db.selectFrom('albums').select(['duration', 'track_count']).executeTakeFirstOrThrow();
      expect(album).toEqual({ duration: 444.488, track_count: 5 });
    });
  });
});
