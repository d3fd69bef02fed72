/**
 * `earshot scan` (the real CLI, a child process beside the server) builds its scanner and event
 * bus as the server does: tracks it removes lose their likes and per-user counters. On both
 * engines: with EARSHOT_DATABASE_URL set, the CLI scans into PostgreSQL.
 */
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio } from '../test/audio.js';
import { CLI_BIN, ensureServerBuilt } from '../test/build.js';
import { forEachEngine } from '../test/engines.js';
import { type LibraryTestServer, startLibraryServer } from '../test/library-server.js';
import { settleFiles } from '../test/settle.js';

const run = promisify(execFile);
let t: LibraryTestServer;

forEachEngine((engine) => {
  beforeAll(async () => {
    ensureServerBuilt();
    t = await startLibraryServer(engine);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  describe('earshot scan', () => {
    it('reaches the listening clean-up: a removed track loses its likes and counters', async () => {
      const music = t.config.musicDir;
      await makeAudio(join(music, 'A/Album/01 - gone.mp3'), {
        frequency: 300,
        tags: { title: 'Gone', album: 'Album' },
      });
      await makeAudio(join(music, 'A/Album/02 - kept.mp3'), {
        frequency: 320,
        tags: { title: 'Kept', album: 'Album' },
      });
      settleFiles(music); // dated back: the scanner reads files once settled (test/settle.ts)
      await t.earshot.library.service.runScan({ trigger: 'test' });
      const db = t.earshot.database.db;
      const ids = Object.fromEntries(
        (await db.selectFrom('tracks').select(['id', 'title']).execute()).map((r) => [r.title, r.id]),
      );
      const user = await t.createUser();
      for (const title of ['Gone', 'Kept'])
        await db
          .insertInto('user_activity')
          .values({
            user_id: user.id,
            item_type: 'track',
            item_id: ids[title],
            play_count: 3,
            is_liked: 1,
            liked_at: 1,
            rating: null,
            last_played: 2,
          })
          .execute();

      rmSync(join(music, 'A/Album/01 - gone.mp3'));
      const { stdout } = await run(process.execPath, [CLI_BIN, 'scan'], {
        env: {
          ...process.env,
          EARSHOT_DATA_DIR: t.dir,
          EARSHOT_LOG_LEVEL: 'warn',
          NO_COLOR: '1',
          ...(t.databaseUrl ? { EARSHOT_DATABASE_URL: t.databaseUrl } : {}),
        },
      });
      expect(stdout).toMatch(/removed\s+1/);
      expect(await db.selectFrom('tracks').select('title').execute()).toEqual([{ title: 'Kept' }]);
      const left = await db.selectFrom('user_activity').select(['item_id', 'is_liked', 'play_count']).execute();
      expect(left).toEqual([{ item_id: ids.Kept, is_liked: 1, play_count: 3 }]);
      const run0 = await db
        .selectFrom('scan_runs')
        .select(['trigger', 'state', 'removed'])
        .orderBy('started_at', 'desc')
        .executeTakeFirstOrThrow();
      expect(run0).toEqual({ trigger: 'cli', state: 'done', removed: 1 });
      if (engine.name === 'postgres') {
        // Nothing went to a SQLite file beside the data: the CLI wrote only into PostgreSQL.
        expect(existsSync(join(t.dir, 'db', 'earshot.db'))).toBe(false);
      }
    }, 120_000);
  });
});
