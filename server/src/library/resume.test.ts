/**
 * `kill -9` during `earshot scan` (the real CLI, as a child process): the DB stays consistent and
 * the next scan finishes the job without duplicates. On both engines: on PostgreSQL the killed
 * process's session ends, its scan lock goes with it, and its run is interrupted.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { checkIntegrity, openDatabase } from '../db/database.js';
import { makeAudio } from '../test/audio.js';
import { CLI_BIN } from '../test/build.js';
import { forEachEngine } from '../test/engines.js';
import { startLibraryServer } from '../test/library-server.js';
import { settleFiles } from '../test/settle.js';

const dirs: string[] = [];
const FILES = 2400;

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

forEachEngine((engine) =>
  describe('scan resumability', () => {
    it('a scan killed with SIGKILL half-way is completed by the next scan', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'earshot-resume-'));
      dirs.push(dir);
      // PostgreSQL: a fresh, migrated database the CLI and then the library scan into.
      const pgDatabase = engine.name === 'postgres' ? await engine.open() : undefined;
      const music = join(dir, 'library');
      const seed = await makeAudio(join(dir, 'seed.mp3'), {
        seconds: 1,
        tags: { title: 'Copy', artist: 'Resume', album: 'Many' },
      });
      for (let a = 0; a < FILES / 100; a++) {
        mkdirSync(join(music, `Artist ${a}`, 'Album'), { recursive: true });
        for (let i = 0; i < 100; i++)
          copyFileSync(seed, join(music, `Artist ${a}`, 'Album', `${String(i).padStart(3, '0')} - t.mp3`));
      }
      settleFiles(music); // dated back: the scanner reads files once settled (test/settle.ts)

      const child = spawn(process.execPath, [CLI_BIN, 'scan'], {
        env: {
          ...process.env,
          EARSHOT_DATA_DIR: dir,
          EARSHOT_LOG_LEVEL: 'warn',
          NO_COLOR: '1',
          EARSHOT_SCAN_WORKERS: '1',
          ...(pgDatabase?.rawUrl ? { EARSHOT_DATABASE_URL: pgDatabase.rawUrl } : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Kill as soon as the CLI reports files read (the first plain progress line of the read phase).
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if ([...out.matchAll(/(\d+)\/(\d+) files/g)].some((m) => Number(m[1]) > 0)) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.on('exit', () => reject(new Error(`scan ended before it could be killed:\n${out}`)));
      });
      await new Promise((r) => child.once('exit', r));

      let partial: number;
      let state: string;
      if (pgDatabase) {
        const count = await sql<{ n: number }>`select count(*) n from tracks`.execute(pgDatabase.db);
        partial = Number(count.rows[0].n);
        state = (await pgDatabase.db.selectFrom('scan_runs').select('state').executeTakeFirstOrThrow()).state;
      } else {
        const after = openDatabase(join(dir, 'db', 'earshot.db'));
        expect(checkIntegrity(after.sqlite, true)).toEqual(['ok']);
        partial = (after.sqlite.prepare('select count(*) n from tracks').get() as { n: number }).n;
        state = (after.sqlite.prepare('select state from scan_runs').get() as { state: string }).state;
        await after.close();
      }
      expect(partial).toBeLessThan(FILES);
      expect(state).toBe('running');

      const t = await startLibraryServer(engine, { dir, database: pgDatabase });
      try {
        await t.earshot.library.scanner.recovered; // marked at start-up
        const runs = await t.earshot.database.db.selectFrom('scan_runs').select('state').execute();
        expect(runs.map((r) => r.state)).toEqual(['interrupted']);
        const next = await t.earshot.library.service.runScan({ trigger: 'test' });
        expect(next.added).toBe(FILES - partial);
        const n = await t.earshot.database.db
          .selectFrom('tracks')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        expect(Number(n.n)).toBe(FILES);
        const albums = await t.earshot.database.db.selectFrom('albums').select(['name', 'track_count']).execute();
        // The counts the killed run never recomputed are right after the resumed one (no album
        // artist is tagged: one album per folder).
        expect(albums).toEqual(Array.from({ length: FILES / 100 }, () => ({ name: 'Many', track_count: 100 })));
      } finally {
        await t.close();
      }
    }, 120_000);
  }),
);
