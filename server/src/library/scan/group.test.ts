/**
 * The group phase: one album per album (README.md, "One album per album") and the folder-name
 * fallback end to end, through real scans of files made by ffmpeg.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio, makeImage } from '../../test/audio.js';
import { forEachEngine } from '../../test/engines.js';
import { type LibraryTestServer, startLibraryServer } from '../../test/library-server.js';
import { settleFiles } from '../../test/settle.js';

let t: LibraryTestServer;
const db = () => t.earshot.database.db;
const scan = (full = false) => t.earshot.library.service.runScan({ full, trigger: 'test' });
const albumsNamed = (name: string) =>
  db().selectFrom('albums').selectAll().where('name', '=', name).orderBy('track_count', 'desc').execute();
const track = (p: string) =>
  db().selectFrom('tracks').selectAll().where('local_path', '=', p).executeTakeFirstOrThrow();

forEachEngine((engine) => {
  beforeAll(async () => {
    t = await startLibraryServer(engine);
    const music = t.config.musicDir;
    let f = 300;
    const make = (rel: string, tags: Record<string, string>) =>
      makeAudio(join(music, rel), { frequency: f++, seconds: 1, tags });
    await Promise.all([
      // A 5-track album: three tracks carry the album artist, two do not (one by a guest).
      ...[1, 2, 3].map((n) =>
        make(`Band/Big Album/0${n}.mp3`, {
          title: `S${n}`,
          artist: 'Band',
          album: 'Big Album',
          album_artist: 'Band',
          track: String(n),
        }),
      ),
      make('Band/Big Album/04.mp3', { title: 'S4', artist: 'Band', album: 'Big Album', track: '4' }),
      make('Band/Big Album/05.mp3', { title: 'S5', artist: 'Band feat. Guest', album: 'Big Album', track: '5' }),
      // No album artist anywhere, different artists: one album by Various Artists.
      make('Mixtape/a.ogg', { title: 'A', artist: 'Alpha', album: 'Summer Mix' }),
      make('Mixtape/b.ogg', { title: 'B', artist: 'Beta', album: 'Summer Mix' }),
      // No album artist, one artist, over two disc folders: one album by that artist.
      make('Solo/Double/CD1/01.flac', { title: 'D1', artist: 'Solo', album: 'Double' }),
      make('Solo/Double/CD2/01.flac', { title: 'D2', artist: 'Solo', album: 'Double' }),
      // The same album name elsewhere, untagged album artist: another album.
      make('Other/Double/01.mp3', { title: 'X', artist: 'Someone Else', album: 'Double' }),
      // Untagged Opus files as a real collection has them.
      ...[1, 2, 10].map((n) => make(`albums/crimson_island (2007)/track${n}.opus`, {})),
    ]);
    mkdirSync(join(music, 'albums/crimson_island (2007)'), { recursive: true });
    await makeImage(join(music, 'albums/crimson_island (2007)/AlbumCover.PNG'), {
      color: 'red',
      width: 16,
      height: 16,
    });
    settleFiles(music); // dated back: the scanner reads files once settled (test/settle.ts)
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    rmSync(t.dir, { recursive: true, force: true });
  });

  describe('group phase: one album per album', () => {
    it('tracks in one folder sharing an album tag are one album even when some lack the album artist', async () => {
      const first = await scan();
      expect(first).toMatchObject({ state: 'done', unreadable: 0 });
      const big = await albumsNamed('Big Album');
      expect(big).toHaveLength(1);
      expect(big[0]).toMatchObject({ album_artist: 'Band', track_count: 5 });
      for (const n of [4, 5])
        expect(await track(`Band/Big Album/0${n}.mp3`)).toMatchObject({ album_id: big[0].id, album_artist: 'Band' });
      // Its album-artist link follows the album.
      const links = await db()
        .selectFrom('track_artists')
        .innerJoin('artists', 'artists.id', 'track_artists.artist_id')
        .select('artists.name')
        .where('track_id', '=', (await track('Band/Big Album/05.mp3')).id)
        .where('role', '=', 'albumartist')
        .execute();
      expect(links).toEqual([{ name: 'Band' }]);
    });

    it('an untagged album of several artists is by Various Artists; of one artist, by that artist, across disc folders', async () => {
      expect(await albumsNamed('Summer Mix')).toMatchObject([{ album_artist: 'Various Artists', track_count: 2 }]);
      expect((await track('Mixtape/a.ogg')).album_artist).toBe('Various Artists');
      const double = await albumsNamed('Double');
      expect(double).toMatchObject([
        { album_artist: 'Solo', track_count: 2, disc_count: 2 },
        { album_artist: 'Someone Else', track_count: 1 },
      ]);
    });

    it('folder names are read as a person would: no generic artist, the year out of the album name, numbers from file names, AlbumCover.PNG', async () => {
      const albums = await albumsNamed('crimson island');
      expect(albums).toHaveLength(1);
      expect(albums[0]).toMatchObject({ album_artist: 'Unknown Artist', year: 2007, track_count: 3 });
      expect(albums[0].artwork_id).toMatch(/^[0-9a-f]{64}$/);
      const rows = await db()
        .selectFrom('tracks')
        .select(['title', 'track_number', 'artist', 'year'])
        .where('album_id', '=', albums[0].id)
        .orderBy('track_number')
        .execute();
      expect(rows).toEqual([
        { title: 'track1', track_number: 1, artist: 'Unknown Artist', year: 2007 },
        { title: 'track2', track_number: 2, artist: 'Unknown Artist', year: 2007 },
        { title: 'track10', track_number: 10, artist: 'Unknown Artist', year: 2007 },
      ]);
      expect(
        await db().selectFrom('artists').select('name').where('name', '=', 'albums').executeTakeFirst(),
      ).toBeUndefined();
    });

    it('a full rescan keeps the grouping (albums formed again, no split)', async () => {
      const before = await db()
        .selectFrom('albums')
        .select(['name', 'album_artist', 'track_count'])
        .orderBy('name')
        .orderBy('album_artist')
        .execute();
      const full = await scan(true);
      expect(full.state).toBe('done');
      const after = await db()
        .selectFrom('albums')
        .select(['name', 'album_artist', 'track_count'])
        .orderBy('name')
        .orderBy('album_artist')
        .execute();
      expect(after).toEqual(before);
    });
  });
});
