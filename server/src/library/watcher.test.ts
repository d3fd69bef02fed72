import { appendFileSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../shared/ids.js';
import { makeAudio, makeImage } from '../test/audio.js';
import { forEachEngine } from '../test/engines.js';
import { type LibraryTestServer, startLibraryServer } from '../test/library-server.js';
import { afterScansUntil as afterScansUntilIn, trackByPath as trackByPathIn } from '../test/library.js';

let t: LibraryTestServer;
let music: string;
const fixtures = join(tmpdir(), `earshot-watch-fixtures-${process.pid}`);

const trackByPath = (p: string) => trackByPathIn(t, p);
const afterScansUntil = (check: () => Promise<boolean>, timeoutMs?: number) =>
  afterScansUntilIn(t, check, 'the watcher-triggered scans', timeoutMs);

forEachEngine((engine) => {
  beforeAll(async () => {
    t = await startLibraryServer(engine);
    music = t.config.musicDir;
    await Promise.all([
      makeAudio(join(fixtures, 'one.mp3'), { frequency: 500, tags: { title: 'One', artist: 'Watcher', album: 'W' } }),
      makeAudio(join(fixtures, 'two.mp3'), { frequency: 510, tags: { title: 'Two', artist: 'Watcher', album: 'W' } }),
      makeAudio(join(fixtures, 'long.flac'), {
        seconds: 4,
        frequency: 520,
        tags: { title: 'Slow Copy', artist: 'Watcher', album: 'W' },
      }),
      makeImage(join(fixtures, 'cover.jpg'), { color: 'purple', width: 16, height: 16 }),
    ]);
    await t.earshot.library.service.startBackground({
      scanOnStart: false,
      watch: true,
      watchPolling: false,
      fullScanIntervalMinutes: 0,
      musicDir: music,
      debounceMs: 150,
    });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    rmSync(fixtures, { recursive: true, force: true });
  });

  describe('library watcher', () => {
    it('picks up added, changed and deleted files', async () => {
      mkdirSync(join(music, 'W'), { recursive: true });
      const added = afterScansUntil(async () => (await trackByPath('W/a.mp3'))?.title === 'One');
      copyFileSync(join(fixtures, 'one.mp3'), join(music, 'W/a.mp3'));
      await added;
      const id = (await trackByPath('W/a.mp3'))?.id;

      const changed = afterScansUntil(async () => (await trackByPath('W/a.mp3'))?.title === 'Two');
      copyFileSync(join(fixtures, 'two.mp3'), join(music, 'W/a.mp3'));
      await changed;
      expect((await trackByPath('W/a.mp3'))?.id).toBe(id);

      const deleted = afterScansUntil(async () => (await trackByPath('W/a.mp3')) === undefined);
      rmSync(join(music, 'W/a.mp3'));
      await deleted;
    });

    it('picks up a folder image added to an album folder', async () => {
      mkdirSync(join(music, 'Art'), { recursive: true });
      const added = afterScansUntil(async () => (await trackByPath('Art/one.mp3'))?.title === 'One');
      copyFileSync(join(fixtures, 'one.mp3'), join(music, 'Art/one.mp3'));
      await added;
      expect((await trackByPath('Art/one.mp3'))?.artwork_id).toBeNull();
      const hash = sha256(readFileSync(join(fixtures, 'cover.jpg')));
      const pictured = afterScansUntil(async () => (await trackByPath('Art/one.mp3'))?.artwork_id === hash);
      copyFileSync(join(fixtures, 'cover.jpg'), join(music, 'Art/cover.jpg'));
      await pictured;
    });

    it('does not read a file that is still being copied in', async () => {
      const data = readFileSync(join(fixtures, 'long.flac'));
      const target = join(music, 'W/slow.flac');
      const seen: (string | undefined)[] = [];
      const off = t.earshot.events.on('library.scanned', () => {
        void trackByPath('W/slow.flac').then((r) => seen.push(r?.title));
      });
      const done = afterScansUntil(async () => (await trackByPath('W/slow.flac'))?.title === 'Slow Copy');
      writeFileSync(target, data.subarray(0, 1024));
      const chunk = Math.ceil(data.length / 8);
      for (let at = 1024; at < data.length; at += chunk) {
        await new Promise((r) => setTimeout(r, 120)); // a slow copy: the writer's pace, not test synchronisation
        appendFileSync(target, data.subarray(at, at + chunk));
      }
      await done;
      off();
      // Never stored half-read, never recorded as unreadable.
      expect(seen.filter((s) => s !== undefined && s !== 'Slow Copy')).toEqual([]);
      const errors = await t.earshot.database.db.selectFrom('scan_errors').selectAll().execute();
      expect(errors).toEqual([]);
      expect((await trackByPath('W/slow.flac'))?.duration).toBeGreaterThan(3.5);
    });
  });
});
