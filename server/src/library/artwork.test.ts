import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../shared/ids.js';
import { makeAudio, makeImage } from '../test/audio.js';
import { forEachEngine } from '../test/engines.js';
import { type LibraryTestServer, startLibraryServer } from '../test/library-server.js';
import { settleFiles } from '../test/settle.js';

let t: LibraryTestServer;
let music: string;
const images = join(tmpdir(), `earshot-artwork-images-${process.pid}`);
const red = join(images, 'red.jpg');
const green = join(images, 'green.jpg');
const blue = join(images, 'blue.png');
const embedded = join(images, 'embedded.jpg');

const db = () => t.earshot.database.db;
const scan = (full = false) => t.earshot.library.service.runScan({ full, trigger: 'test' });
const trackByPath = (p: string) =>
  db().selectFrom('tracks').selectAll().where('local_path', '=', p).executeTakeFirstOrThrow();
const artworkRow = (id: string) => db().selectFrom('artwork').selectAll().where('id', '=', id).executeTakeFirst();
const hashOf = (path: string) => sha256(readFileSync(path));
const albumArtwork = async (trackPath: string) => {
  const track = await trackByPath(trackPath);
  const album = await db()
    .selectFrom('albums')
    .select('artwork_id')
    .where('id', '=', track.album_id!)
    .executeTakeFirst();
  return album?.artwork_id ?? null;
};

forEachEngine((engine) => {
  beforeAll(async () => {
    t = await startLibraryServer(engine);
    music = t.config.musicDir;
    await Promise.all([
      makeImage(red, { color: 'red', width: 24, height: 24 }),
      makeImage(green, { color: 'green', width: 24, height: 24 }),
      makeImage(blue, { color: 'blue', width: 24, height: 24 }),
      makeImage(embedded, { color: 'yellow', width: 24, height: 24 }),
    ]);
    await Promise.all([
      makeAudio(join(music, 'Plain/Album/01 - one.mp3'), {
        frequency: 600,
        tags: { title: 'One', artist: 'Plain', album: 'Album', track: '1' },
      }),
      makeAudio(join(music, 'Plain/Album/02 - two.mp3'), {
        frequency: 610,
        tags: { title: 'Two', artist: 'Plain', album: 'Album', track: '2' },
      }),
      makeAudio(join(music, 'Pictured/Album/01 - pic.mp3'), {
        frequency: 620,
        coverPath: embedded,
        tags: { title: 'Pic', artist: 'Pictured', album: 'Album' },
      }),
    ]);
    settleFiles(music); // dated back: the scanner reads files once settled (test/settle.ts)
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    rmSync(images, { recursive: true, force: true });
  });

  describe('artwork: folder images and unused artwork', () => {
    it('a folder image added, replaced or removed is picked up by an incremental scan', async () => {
      const first = await scan();
      expect(first.added).toBe(3);
      expect((await trackByPath('Plain/Album/01 - one.mp3')).artwork_id).toBeNull();

      // Added: only the folder's tracks are read again.
      copyFileSync(red, join(music, 'Plain/Album/cover.jpg'));
      const added = await scan();
      expect(added).toMatchObject({ added: 0, updated: 2, removed: 0 });
      for (const p of ['Plain/Album/01 - one.mp3', 'Plain/Album/02 - two.mp3'])
        expect((await trackByPath(p)).artwork_id).toBe(hashOf(red));
      expect(await albumArtwork('Plain/Album/01 - one.mp3')).toBe(hashOf(red));
      const redRow = await artworkRow(hashOf(red));
      expect(redRow?.source).toBe('file');
      expect(existsSync(join(t.earshot.paths.cacheDir, redRow!.path))).toBe(true);
      // The tracks show the folder's image already: the next scan reads nothing again.
      expect(await scan()).toMatchObject({ filesTotal: 0, updated: 0 });

      // Replaced (by rename, as most tools save): the new image is used, the old one is deleted.
      copyFileSync(green, join(music, 'Plain/Album/.cover.tmp'));
      renameSync(join(music, 'Plain/Album/.cover.tmp'), join(music, 'Plain/Album/cover.jpg'));
      await scan();
      expect((await trackByPath('Plain/Album/02 - two.mp3')).artwork_id).toBe(hashOf(green));
      expect(await albumArtwork('Plain/Album/02 - two.mp3')).toBe(hashOf(green));
      expect(await artworkRow(hashOf(red))).toBeUndefined();
      expect(existsSync(join(t.earshot.paths.cacheDir, redRow!.path))).toBe(false);

      // Overwritten in place with an older mtime (cp -p): ctime still shows the change.
      writeFileSync(join(music, 'Plain/Album/cover.jpg'), readFileSync(blue));
      utimesSync(join(music, 'Plain/Album/cover.jpg'), new Date(2001, 0, 1), new Date(2001, 0, 1));
      await scan();
      expect((await trackByPath('Plain/Album/01 - one.mp3')).artwork_id).toBe(hashOf(blue));
      expect(await artworkRow(hashOf(green))).toBeUndefined();

      // Removed: the tracks and the album lose it, and it is deleted.
      const blueRow = await artworkRow(hashOf(blue));
      rmSync(join(music, 'Plain/Album/cover.jpg'));
      await scan();
      expect((await trackByPath('Plain/Album/01 - one.mp3')).artwork_id).toBeNull();
      expect(await albumArtwork('Plain/Album/01 - one.mp3')).toBeNull();
      expect(await artworkRow(hashOf(blue))).toBeUndefined();
      expect(existsSync(join(t.earshot.paths.cacheDir, blueRow!.path))).toBe(false);
      expect(await scan()).toMatchObject({ filesTotal: 0, updated: 0 });
    });

    it('artwork no track or album uses any more is deleted; remote and still-used artwork is kept', async () => {
      const pic = await trackByPath('Pictured/Album/01 - pic.mp3');
      const picRow = await artworkRow(pic.artwork_id!);
      expect(picRow?.source).toBe('embedded');
      const now = Date.now();
      // A remote track showing the same picture, and a remote thumbnail nothing refers to (yet).
      await db()
        .insertInto('artwork')
        .values({
          id: 'remote-thumb',
          path: 'artwork/re/remote-thumb.jpg',
          mime: 'image/jpeg',
          width: null,
          height: null,
          size: 1,
          source: 'remote',
          created_at: now,
        })
        .execute();
      await db()
        .insertInto('tracks')
        .values({
          id: 'remote-track-1',
          source_type: 'url',
          remote_id: 'https://example.test/a',
          title: 'Remote',
          artwork_id: pic.artwork_id,
          added_at: now,
          updated_at: now,
        })
        .execute();

      // The local track goes: its picture stays while the remote track shows it.
      rmSync(join(music, 'Pictured'), { recursive: true });
      expect((await scan()).removed).toBe(1);
      expect(await artworkRow(pic.artwork_id!)).toBeDefined();
      expect(existsSync(join(t.earshot.paths.cacheDir, picRow!.path))).toBe(true);
      expect(await artworkRow('remote-thumb')).toBeDefined();

      // Once nothing refers to it, the next scan that changes something deletes it.
      await db().deleteFrom('tracks').where('id', '=', 'remote-track-1').execute();
      await makeAudio(join(music, 'Plain/Album/03 - three.mp3'), {
        frequency: 630,
        tags: { title: 'Three', album: 'Album' },
      });
      await new Promise((r) => setTimeout(r, 2100));
      expect((await scan()).added).toBe(1);
      expect(await artworkRow(pic.artwork_id!)).toBeUndefined();
      expect(existsSync(join(t.earshot.paths.cacheDir, picRow!.path))).toBe(false);
      expect(await artworkRow('remote-thumb')).toBeDefined();
    });

    it('a full scan stores again an artwork file that is missing or short (not fsynced: power cut)', async () => {
      copyFileSync(red, join(music, 'Plain/Album/cover.jpg'));
      await scan();
      const row = await artworkRow(hashOf(red));
      const file = join(t.earshot.paths.cacheDir, row!.path);
      writeFileSync(file, ''); // what a power cut may leave of a file written just before it
      await scan(true);
      expect(readFileSync(file).equals(readFileSync(red))).toBe(true);
      expect((await trackByPath('Plain/Album/01 - one.mp3')).artwork_id).toBe(hashOf(red));
      expect(await albumArtwork('Plain/Album/01 - one.mp3')).toBe(hashOf(red));
    });

    it('a full scan sweeps old artwork files that have no row', async () => {
      const dir = join(t.earshot.paths.artworkDir, 'ab');
      mkdirSync(dir, { recursive: true });
      const old = join(dir, `ab${'0'.repeat(62)}.jpg`);
      const fresh = join(dir, `ab${'1'.repeat(62)}.jpg`);
      const other = join(dir, 'notes.txt');
      for (const f of [old, fresh, other]) writeFileSync(f, 'x');
      const longAgo = new Date(Date.now() - 2 * 3600_000);
      utimesSync(old, longAgo, longAgo);
      utimesSync(other, longAgo, longAgo);
      await scan(true);
      expect(existsSync(old)).toBe(false);
      expect(existsSync(fresh)).toBe(true); // may be a row another writer is about to insert
      expect(existsSync(other)).toBe(true); // not ours
    });
  });
});
