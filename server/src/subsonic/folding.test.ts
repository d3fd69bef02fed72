/**
 * Names outside ASCII looked up by what a client types, on both engines. The scanner merges genres
 * and artists by their folded key (case and accents ignored: `foldKey`, library/tags.ts), so a
 * genre asked for as "électro", "ELECTRO" or "Électro" is the same genre on SQLite and on
 * PostgreSQL, and getLyrics finds "Été" by "Zoé" as "ÉTÉ" by "zoe" on both. (SQLite's `collate
 * nocase` folds ASCII only and PostgreSQL's `nocase` collation keeps accents, so comparisons of
 * names under it answered differently on the two engines.)
 */
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio } from '../test/audio.js';
import { forEachServerEngine } from '../test/engines.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { type RestCaller, restCaller } from '../test/subsonic/client.js';

let t: TestServer;
let api: RestCaller;

const FILES = [
  { path: 'Zoé/Été/01 Été.mp3', tags: { title: 'Été', artist: 'Zoé', album: 'Été', genre: 'Électro', date: '2020' } },
  {
    path: 'Ana/Plain/01 Rain.mp3',
    tags: { title: 'Rain', artist: 'Ana', album: 'Plain', genre: 'Rock', date: '2019' },
  },
];

forEachServerEngine(() => {
  beforeAll(async () => {
    t = await startTestServer({ env: { EARSHOT_SUBSONIC_REMOTE_SEARCH: 'false' } });
    const user = await t.createUser({ username: 'alice' });
    for (const [i, file] of FILES.entries()) {
      const path = join(t.earshot.paths.musicDir, file.path);
      await makeAudio(path, { seconds: 1, frequency: 440 + 110 * i, tags: file.tags });
      const old = new Date(Date.now() - 60_000); // older than the scanner's settle time
      await utimes(path, old, old);
    }
    await t.earshot.library.service.runScan({ full: true, trigger: 'test' });
    api = restCaller(t, { apiKey: (await t.earshot.accounts.subsonic.createApiKey(user.id)).key });
    await t.earshot.database.db
      .updateTable('tracks')
      .set({ lyrics: '[00:00.50]Soleil' })
      .where('title', '=', 'Été')
      .execute();
  });
  afterAll(() => t?.close());

  describe('lyrics by artist and title whatever their case and accents', () => {
    it.each([
      ['Zoé', 'Été'],
      ['ZOÉ', 'ÉTÉ'],
      ['zoe', 'ete'],
    ])('getLyrics artist=%s title=%s finds them', async (artist, title) => {
      const r = await api.json('getLyrics', { artist, title });
      expect(r.lyrics).toEqual({ artist: 'Zoé', title: 'Été', value: 'Soleil' });
    });

    it('another artist, or another title, finds none', async () => {
      expect((await api.json('getLyrics', { artist: 'Ana', title: 'Été' })).lyrics.value).toBeUndefined();
      expect((await api.json('getLyrics', { artist: 'Zoé', title: 'Et' })).lyrics.value).toBeUndefined();
    });
  });

  describe('genres whatever their case and accents', () => {
    it.each(['Électro', 'électro', 'ÉLECTRO', 'electro', 'Electro'])(
      'getSongsByGenre %s finds the song',
      async (genre) => {
        const r = await api.json('getSongsByGenre', { genre });
        expect(r.songsByGenre.song?.map((s: { title: string }) => s.title)).toEqual(['Été']);
      },
    );

    it.each(['électro', 'ELECTRO'])('getAlbumList2 byGenre %s finds the album', async (genre) => {
      const r = await api.json('getAlbumList2', { type: 'byGenre', genre });
      expect(r.albumList2.album?.map((a: { name: string }) => a.name)).toEqual(['Été']);
      const folders = await api.json('getAlbumList', { type: 'byGenre', genre });
      expect(folders.albumList.album?.map((a: { title: string }) => a.title)).toEqual(['Été']);
    });

    it('another genre, or none that matches, finds nothing of it', async () => {
      expect((await api.json('getSongsByGenre', { genre: 'rock' })).songsByGenre.song).toHaveLength(1);
      expect((await api.json('getSongsByGenre', { genre: 'Électronique' })).songsByGenre.song ?? []).toEqual([]);
      expect((await api.json('getAlbumList2', { type: 'byGenre', genre: 'Elect' })).albumList2.album ?? []).toEqual([]);
    });
  });
});
