/**
 * The persistent job runner over a real database, SQLite and PostgreSQL (the handler is the only
 * thing tests supply).
 */
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../db/database.js';
import { forEachEngine } from '../../test/engines.js';
import { JobRunner, PermanentJobError } from './job-runner.js';
import { JobsRepository } from './jobs.repository.js';

let database: { db: Db };
let repo: JobsRepository;
const logger = pino({ level: 'silent' });
const clock = { now: () => Date.now() };

const job = (key: string) => ({ type: 'test', dedupeKey: key, payload: { key }, ownerId: null });
const rowOf = (key: string) =>
  database.db.selectFrom('jobs').selectAll().where('dedupe_key', '=', key).executeTakeFirstOrThrow();

forEachEngine((engine) => {
  beforeEach(async () => {
    database = await engine.open();
    repo = new JobsRepository(database.db);
  });

  describe('JobRunner', () => {
    it('deduplicates live jobs by (type, key)', async () => {
      expect(await repo.enqueue(job('a'), 1)).toBe(true);
      expect(await repo.enqueue(job('a'), 2)).toBe(false);
      expect((await database.db.selectFrom('jobs').selectAll().execute()).length).toBe(1);
    });

    it('runs at most `concurrency` jobs at once', async () => {
      let running = 0;
      let peak = 0;
      let started = 0;
      const keys = ['a', 'b', 'c', 'd', 'e'];
      // Each handler holds until a second one runs beside it (or none is left to start): a runner
      // that ran one job at a time would never get past the first, however fast its claims are.
      let release: (() => void)[] = [];
      const runner = new JobRunner({ repo, clock, logger, concurrency: 2 });
      runner.register('test', async () => {
        running += 1;
        started += 1;
        peak = Math.max(peak, running);
        const held = new Promise<void>((resolve) => release.push(resolve));
        if (running === 2 || started === keys.length) {
          for (const r of release) r();
          release = [];
        }
        await held;
        running -= 1;
      });
      for (const k of keys) await repo.enqueue(job(k), clock.now());
      await runner.start();
      await runner.whenIdle();
      expect(peak).toBe(2);
      expect(await repo.countByState(['test'])).toEqual({ queued: 0, running: 0, done: 5, failed: 0 });
      await runner.stop();
    });

    it('retries with exponential backoff, then marks the job failed after max attempts', async () => {
      const runner = new JobRunner({ repo, clock, logger, concurrency: 1, backoffBaseMs: 20 });
      const attemptsAt: number[] = [];
      let third!: () => void;
      const thirdAttempt = new Promise<void>((resolve) => {
        third = resolve;
      });
      runner.register('test', async () => {
        attemptsAt.push(Date.now());
        if (attemptsAt.length === 3) third();
        throw new Error('origin down');
      });
      await repo.enqueue({ ...job('x'), maxAttempts: 3 }, clock.now());
      await runner.start();
      await thirdAttempt;
      await runner.whenIdle();
      expect(await rowOf('x')).toMatchObject({ state: 'failed', attempts: 3, last_error: 'origin down' });
      expect(attemptsAt).toHaveLength(3);
      // 20 ms then 40 ms between attempts (timers may fire late, never early).
      expect(attemptsAt[1] - attemptsAt[0]).toBeGreaterThanOrEqual(19);
      expect(attemptsAt[2] - attemptsAt[1]).toBeGreaterThanOrEqual(39);
      await runner.stop();
    });

    it('a permanent error fails at once', async () => {
      const runner = new JobRunner({ repo, clock, logger, concurrency: 1 });
      runner.register('test', async () => {
        throw new PermanentJobError('track deleted');
      });
      await repo.enqueue(job('p'), clock.now());
      await runner.start();
      await runner.whenIdle();
      expect(await rowOf('p')).toMatchObject({ state: 'failed', attempts: 1, last_error: 'track deleted' });
      await runner.stop();
    });

    it('jobs left running by a crash are queued again at start; stop() puts running jobs back', async () => {
      // What the dead process did, a lease ago: on PostgreSQL a starting runner takes back only
      // jobs whose claim lapsed (another live replica may be running the others).
      const then = clock.now() - repo.leaseMs - 1;
      await repo.enqueue(job('crashed'), then);
      await new JobsRepository(database.db).claimNext(['test'], then);
      expect((await rowOf('crashed')).state).toBe('running');

      const runner = new JobRunner({ repo, clock, logger, concurrency: 1 });
      let picked!: (attempts: number) => void;
      const pickedUp = new Promise<number>((resolve) => {
        picked = resolve;
      });
      runner.register('test', (j, ctx) => {
        picked(j.attempts);
        return new Promise<void>((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      });
      await runner.start();
      expect(await pickedUp).toBe(2);
      await runner.stop();
      // Stopped mid-job: queued again, the interrupted attempt not counted.
      expect(await rowOf('crashed')).toMatchObject({ state: 'queued', attempts: 1 });
    });
  });
});
