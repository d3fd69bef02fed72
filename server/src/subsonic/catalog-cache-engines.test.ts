/**
 * The Subsonic catalog cache on both engines, with the write watch each engine gets (module.ts):
 * a catalog write by another connection (another process, or another replica on PostgreSQL)
 * drops what the cache kept within a second, and any write at all reaches the `onWrite`
 * listeners (the credential cache). And search3's source, the ranked ids of local search, on
 * both engines over the same rows.
 */
import { describe, expect, it } from 'vitest';
import { BrowseRepository } from '../catalog/browse.repository.js';
import { CatalogSearch } from '../catalog/search.js';
import type { LocalSearch } from '../catalog/search-api.js';
import { PgCatalogSearch } from '../catalog/search-pg.js';
import { type AnyDatabase, connectDatabase } from '../db/engine.js';
import { PgWriteWatch, WriteWatch, type WriteWatcher } from '../db/write-watch.js';
import { forEachEngine } from '../test/engines.js';
import { CatalogCache } from './catalog-cache.js';

const watchOf = (database: AnyDatabase): WriteWatcher =>
  database.engine === 'postgres' ? new PgWriteWatch(database.db) : new WriteWatch(database.sqlite);

const searchOf = (database: AnyDatabase): LocalSearch =>
  database.engine === 'postgres'
    ? new PgCatalogSearch(database.db)
    : new CatalogSearch({ db: database.db, sqlite: database.sqlite, readerThread: false });

async function addAlbum(database: AnyDatabase, id: string, name: string): Promise<void> {
  await database.db
    .insertInto('albums')
    .values({
      id,
      name,
      sort_name: null,
      group_key: id,
      album_artist: 'Band',
      artist_id: null,
      year: 2001,
      added_at: 0,
      updated_at: 0,
    } as never)
    .execute();
}

forEachEngine((engine) => {
  describe('Subsonic catalog cache', () => {
    it('drops kept rows after a write by another connection, and tells the write listeners', async () => {
      const database = await engine.open();
      await addAlbum(database, 'al1', 'First Light');
      const other = await connectDatabase(
        database.engine === 'postgres' ? { url: database.rawUrl as string, path: '' } : { path: database.sqlite.name },
      );
      const cache = new CatalogCache(new BrowseRepository(database.db), watchOf(database));
      let writes = 0;
      cache.onWrite(() => writes++);
      const nameNow = async () => {
        await cache.refresh();
        return (await cache.albumsByIds(['al1']))[0]?.name;
      };
      try {
        expect(await nameNow()).toBe('First Light');
        // The second time from the cache.
        expect(await nameNow()).toBe('First Light');
        await other.db.updateTable('albums').set({ name: 'Zenith' }).where('id', '=', 'al1').execute();
        await expect.poll(nameNow, { timeout: 1000, interval: 25 }).toBe('Zenith');
        // A write outside the catalog reaches the listeners (credentials) within a second too.
        const before = writes;
        await other.db
          .insertInto('users')
          .values({ id: 'u1', username: 'u', username_key: 'u', role: 'user', created_at: 0, updated_at: 0 })
          .execute();
        await expect
          .poll(
            async () => {
              await cache.refresh();
              return writes;
            },
            { timeout: 1000, interval: 25 },
          )
          .toBeGreaterThan(before);
      } finally {
        cache.close();
        await other.close();
      }
    });

    it("search3's ranked ids come from the engine's local search, paged by the section sizes", async () => {
      const database = await engine.open();
      for (const [i, name] of ['Night Drive', 'Night Moves', 'Nightfall', 'Day'].entries()) {
        await addAlbum(database, `al${i}`, name);
      }
      const search = searchOf(database);
      try {
        const all = await search.searchIds('night', { tracks: 0, albums: 10, artists: 0 });
        expect([...all.albums].sort()).toEqual(['al0', 'al1', 'al2']);
        expect(all.tracks).toEqual([]);
        const two = await search.searchIds('night', { tracks: 0, albums: 2, artists: 0 });
        expect(two.albums).toEqual(all.albums.slice(0, 2));
        expect((await search.searchIds('night dr', { albums: 10 })).albums).toEqual(['al0']);
        expect((await search.searchIds('"; drop table albums; --', { albums: 10 })).albums).toEqual([]);
      } finally {
        await search.close();
      }
    });
  });
});
