import { forEachServerEngine } from '../test/engines.js';
import { statfs, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../test/accounts.js';
import { insertTrack } from '../test/catalog-rows.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { folderSize } from './storage.service.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

forEachServerEngine(() => {
  describe('/system/storage', () => {
    it('reports volumes as statfs sees them, cache and DB sizes and track counts; paths only for admins', async () => {
      const clock = new ManualClock();
      t = await startTestServer({ clock });
      const admin = await t.createUser({ username: 'root', role: 'admin' });
      const user = await t.createUser({ username: 'user' });
      const db = t.earshot.database.db;
      await insertTrack(db, { title: 'Local' });
      await insertTrack(db, { title: 'Remote cached', source: 'youtube', cached: true });
      await insertTrack(db, { title: 'Remote', source: 'youtube' });
      const { cacheDir, musicDir, dbFile } = t.earshot.paths;
      await mkdir(join(cacheDir, 'remote', 'ab'), { recursive: true });
      await writeFile(join(cacheDir, 'remote', 'ab', 'x.opus'), Buffer.alloc(12_345));
      await writeFile(join(cacheDir, 'y.bin'), Buffer.alloc(1000));

      const res = await t.app.inject({ url: '/system/storage', headers: await t.authHeaders(admin) });
      expect(res.statusCode).toBe(200);
      const r = res.json();
      const fs = await statfs(musicDir);
      expect(r.library.totalBytes).toBe(fs.blocks * fs.bsize);
      // Other processes write to this disk meanwhile: compare free space loosely (64 MiB).
      expect(Math.abs(r.library.availableBytes - fs.bavail * fs.bsize)).toBeLessThan(64 * 1024 * 1024);
      expect(r.library.usedBytes).toBeGreaterThan(0);
      expect(r.library.usedBytes + r.library.availableBytes).toBeLessThanOrEqual(r.library.totalBytes);
      // The artwork dir is inside the cache dir and empty: the cache is exactly our two files.
      expect(r.cache).toMatchObject({ sizeBytes: 13_345, approximate: false, path: cacheDir });
      expect(r.database.path).toBe(dbFile);
      expect(r.database.sizeBytes).toBeGreaterThan(4096);
      expect(r.tracks).toEqual({ local: 1, remote: 2, cached: 1 });

      // Cached for a few seconds, then measured again.
      await writeFile(join(cacheDir, 'z.bin'), Buffer.alloc(5));
      expect(
        (await t.app.inject({ url: '/system/storage', headers: await t.authHeaders(admin) })).json().cache.sizeBytes,
      ).toBe(13_345);
      clock.advance(5_000);
      expect(
        (await t.app.inject({ url: '/system/storage', headers: await t.authHeaders(admin) })).json().cache.sizeBytes,
      ).toBe(13_350);

      const summary = (await t.app.inject({ url: '/system/storage', headers: await t.authHeaders(user) })).json();
      expect(summary.tracks).toEqual({ local: 1, remote: 2, cached: 1 });
      expect(summary.cache.sizeBytes).toBe(13_350);
      expect(JSON.stringify(summary)).not.toContain(t.dir);
      expect(summary.library.path).toBeUndefined();

      expect((await t.app.inject({ url: '/system/storage' })).statusCode).toBe(401);
    });

    it('folderSize stops at the entry bound and says so', async () => {
      t = await startTestServer();
      const dir = join(t.dir, 'many');
      await mkdir(dir);
      for (let i = 0; i < 10; i++) await writeFile(join(dir, `f${i}`), 'abc');
      expect(await folderSize(dir)).toEqual({ bytes: 30, complete: true });
      const partial = await folderSize(dir, 4);
      expect(partial.complete).toBe(false);
      expect(partial.bytes).toBe(12);
    });
  });
});
