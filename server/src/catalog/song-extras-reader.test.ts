/**
 * Songs nobody asked for yet read on the search reader thread (song-extras.ts `offThread`, what a
 * cold search3 does on SQLite) equal the same read on the server's own connection — rows, credits
 * in tag order with ties, genres, songs with neither, unknown ids, more ids than one statement
 * takes — and really ran on the thread (its read counter). What the thread reads is what was
 * committed: a rename is there at once; inside an open transaction the read stays on the server's
 * connection (the thread cannot see uncommitted writes). The thread's connection refuses writes.
 * SQLite only: PostgreSQL has no reader thread (song-extras.test.ts covers both engines' one read).
 */
import { describe, expect, it } from 'vitest';
import { sqliteEngine } from '../test/engines.js';
import { seedSongExtras } from '../test/song-extras-seed.js';
import { BrowseRepository } from './browse.repository.js';
import { CatalogSearch } from './search.js';
import type { SongWithExtras } from './song-extras.js';

async function setUp() {
  const database = await sqliteEngine.open();
  if (database.engine !== 'sqlite') throw new Error('SQLite expected');
  await seedSongExtras(database);
  const search = new CatalogSearch({ db: database.db, sqlite: database.sqlite });
  expect(await search.startReader()).toBe(true);
  const onThread = new BrowseRepository(database.db, (text, parameters) => search.readOffThread(text, parameters));
  const here = new BrowseRepository(database.db);
  return { database, search, onThread, here };
}

const byId = (list: SongWithExtras[]) => [...list].sort((a, b) => a.row.id.localeCompare(b.row.id));

describe('cold songs read on the search reader thread', () => {
  it('equal the read on the main connection, and ran on the thread', async () => {
    const { search, onThread, here } = await setUp();
    try {
      const ids = ['t3', 'nope', 't1', 't2'];
      const before = search.readerReads;
      const away = await onThread.songsWithExtras(ids);
      expect(search.readerReads).toBe(before + 1);
      expect(byId(away)).toEqual(byId(await here.songsWithExtras(ids)));
      expect(away.map((s) => s.row.id).sort()).toEqual(['t1', 't2', 't3']);
      const t1 = away.find((s) => s.row.id === 't1');
      expect(t1?.credits.map((c) => `${c.id}/${c.role}`)).toEqual([
        'ar-a/artist',
        'ar-b/albumartist',
        'ar-b/artist',
        'ar-c/artist',
      ]);
      expect(t1?.genres).toEqual(['Électronique', 'Trip-Hop']);
      expect(away.find((s) => s.row.id === 't3')?.genres).toBeUndefined();

      // More ids than one statement takes (500): two reads on the thread, the same songs.
      const many = [...Array.from({ length: 700 }, (_, i) => `missing-${i}`), 't2', 't1'];
      const reads = search.readerReads;
      expect(byId(await onThread.songsWithExtras(many))).toEqual(byId(await here.songsWithExtras(many)));
      expect(search.readerReads).toBe(reads + 2);
    } finally {
      await search.close();
    }
  });

  it('sees a committed rename at once, and an open transaction keeps the read on the main connection', async () => {
    const { database, search, onThread } = await setUp();
    try {
      const title = async () => (await onThread.songsWithExtras(['t2']))[0]?.row.title;
      expect(await title()).toBe('Hyperballad');
      await database.db.updateTable('tracks').set({ title: 'Hyperballad (Live)' }).where('id', '=', 't2').execute();
      expect(await title()).toBe('Hyperballad (Live)');

      const sqlite = database.sqlite;
      sqlite.exec('begin');
      try {
        sqlite.prepare(`update tracks set title = 'Uncommitted' where id = 't2'`).run();
        expect(search.readOffThread('select 1', [])).toBeNull();
        const reads = search.readerReads;
        expect(await title()).toBe('Uncommitted');
        expect(search.readerReads).toBe(reads);
      } finally {
        sqlite.exec('rollback');
      }
      expect(await title()).toBe('Hyperballad (Live)');
    } finally {
      await search.close();
    }
  });

  it('refuses a statement that would write, and nothing changes', async () => {
    const { database, search } = await setUp();
    try {
      await expect(search.readOffThread(`delete from tracks where id = 't1'`, []) as Promise<unknown>).rejects.toThrow(
        /reads only|readonly/i,
      );
      const left = await database.db.selectFrom('tracks').select('id').orderBy('id').execute();
      expect(left.map((r) => r.id)).toEqual(['t1', 't2', 't3']);
    } finally {
      await search.close();
    }
  });
});
