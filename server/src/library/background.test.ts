import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachServerEngine } from '../test/engines.js';
import { makeAudio } from '../test/audio.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { afterScansUntil as afterScansUntilIn, trackByPath as trackByPathIn } from '../test/library.js';
import { settleFiles } from '../test/settle.js';

let t: TestServer;
let music: string;
const fixtures = join(tmpdir(), `earshot-background-fixtures-${process.pid}`);

const trackByPath = (p: string) => trackByPathIn(t, p);
const afterScansUntil = (check: () => Promise<boolean>, timeoutMs?: number) =>
  afterScansUntilIn(t, check, 'the background scans', timeoutMs);

const runs = () =>
  t.earshot.database.db.selectFrom('scan_runs').select(['kind', 'trigger', 'state']).orderBy('started_at').execute();

forEachServerEngine(() => {
  beforeAll(async () => {
    t = await startTestServer();
    music = t.config.musicDir;
    await Promise.all([
      makeAudio(join(fixtures, 'polled.mp3'), { frequency: 700, tags: { title: 'Polled', artist: 'Bg', album: 'B' } }),
      makeAudio(join(fixtures, 'scheduled.mp3'), {
        frequency: 710,
        tags: { title: 'Scheduled', artist: 'Bg', album: 'B' },
      }),
    ]);
    mkdirSync(join(music, 'B'), { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    rmSync(fixtures, { recursive: true, force: true });
  });

  describe('library background work', () => {
    it('the polling watcher (EARSHOT_WATCH_POLLING) turns changes into incremental scans', async () => {
      const service = t.earshot.library.service;
      await service.startBackground({
        scanOnStart: false,
        watch: true,
        watchPolling: true,
        pollIntervalMs: 100,
        fullScanIntervalMinutes: 0,
        musicDir: music,
        debounceMs: 150,
      });
      try {
        const added = afterScansUntil(async () => (await trackByPath('B/polled.mp3'))?.title === 'Polled');
        copyFileSync(join(fixtures, 'polled.mp3'), join(music, 'B/polled.mp3'));
        await added;
        const removed = afterScansUntil(async () => (await trackByPath('B/polled.mp3')) === undefined);
        rmSync(join(music, 'B/polled.mp3'));
        await removed;
        const all = await runs();
        expect(all.length).toBeGreaterThan(0);
        expect(all.every((r) => r.kind === 'incremental' && r.trigger === 'watch')).toBe(true);
      } finally {
        await service.stopBackground();
      }
    });

    it('the periodic full scan (EARSHOT_FULL_SCAN_INTERVAL_MINUTES) runs without a watcher', async () => {
      const service = t.earshot.library.service;
      const before = (await runs()).length;
      copyFileSync(join(fixtures, 'scheduled.mp3'), join(music, 'B/scheduled.mp3'));
      settleFiles(join(music, 'B')); // dated back (test/settle.ts): the first scheduled scan reads it
      await service.startBackground({
        scanOnStart: false,
        watch: false,
        watchPolling: false,
        fullScanIntervalMinutes: 1440,
        fullScanIntervalMs: 300,
        musicDir: music,
      });
      try {
        await afterScansUntil(async () => (await trackByPath('B/scheduled.mp3'))?.title === 'Scheduled');
        // And it keeps running on its schedule.
        await afterScansUntil(async () => (await runs()).length >= before + 2);
        const scheduled = (await runs()).slice(before);
        expect(scheduled.every((r) => r.kind === 'full' && r.trigger === 'schedule')).toBe(true);
      } finally {
        await service.stopBackground();
      }
      expect(service.scanner.running).toBe(false);
    });
  });
});
