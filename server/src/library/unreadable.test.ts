/**
 * Rejected files are never silent: the scan summary and status carry the count,
 * any signed-in user can see it (the home page says it), the log warns with it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachServerEngine } from '../test/engines.js';
import { makeAudio } from '../test/audio.js';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { createScanner } from './scan/factory.js';
import { settleFiles } from '../test/settle.js';

let t: TestServer;
let admin: TestUser;
let user: TestUser;
const get = async (url: string, who: TestUser) =>
  t.app.inject({ url, headers: await t.authHeaders(who) }).then((r) => ({ status: r.statusCode, body: r.json() }));

forEachServerEngine(() => {
  beforeAll(async () => {
    t = await startTestServer();
    admin = await t.createUser({ role: 'admin' });
    user = await t.createUser();
    const music = t.config.musicDir;
    mkdirSync(join(music, 'Bad'), { recursive: true });
    for (const name of ['a.opus', 'b.ogg', 'c.mp3']) writeFileSync(join(music, 'Bad', name), 'not music at all');
    settleFiles(music); // dated back: the scanner reads files once settled (test/settle.ts)
  }, 60_000);

  afterAll(() => t?.close());

  describe('files that could not be read', () => {
    it('an empty library with rejected files says so: summary, status, overview, log', async () => {
      const lines: { level: number; msg: string; unreadable?: number }[] = [];
      const logger = pino(
        { level: 'info' },
        new Writable({
          write(chunk, _enc, done) {
            lines.push(JSON.parse(String(chunk)));
            done();
          },
        }),
      );
      const e = t.earshot;
      const scanner = createScanner({ ...e, logger });
      const summary = await scanner.start({ trigger: 'test' });
      expect(summary).toMatchObject({ state: 'done', added: 0, unreadable: 3, unreadableTotal: 3 });
      const warning = lines.find((l) => l.level === 40 && l.unreadable === 3);
      expect(warning?.msg).toMatch(/3 files in the music folder could not be read/);

      const overview = await get('/api/v1/library/status', user);
      expect(overview).toEqual({ status: 200, body: { tracks: 0, unreadable: 3, scanning: false } });
      expect((await t.app.inject({ url: '/api/v1/library/status' })).statusCode).toBe(401);
      const status = await get('/api/v1/scan', admin);
      expect(status.body).toMatchObject({ unreadable: 3, lastRun: { unreadable: 3, state: 'done' } });
      expect((await get('/api/v1/scan', user)).status).toBe(403);
    });

    it('the count stays while the files stay unreadable (a rescan does not retry them) and goes when they are fixed', async () => {
      const again = await t.earshot.library.service.runScan({ trigger: 'test' });
      expect(again).toMatchObject({ unreadable: 0, unreadableTotal: 3 });
      await makeAudio(join(t.config.musicDir, 'Bad/c.mp3'), { seconds: 1, tags: { title: 'Fixed' } });
      await new Promise((r) => setTimeout(r, 2100));
      const fixed = await t.earshot.library.service.runScan({ trigger: 'test' });
      expect(fixed).toMatchObject({ added: 1, unreadableTotal: 2 });
      expect((await get('/api/v1/library/status', user)).body).toEqual({ tracks: 1, unreadable: 2, scanning: false });
    });
  });
});
