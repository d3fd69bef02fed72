/**
 * The job queue shared by several runners (replicas) on one database, on both engines with the real
 * migrations: every job is claimed exactly once, a claim carries its runner and a lease, a runner
 * starting up requeues only jobs whose lease lapsed (not those another live runner renews), and a
 * runner takes back the jobs of one that stopped renewing. Each `JobsRepository` is one "replica"
 * (its own runner id), as each `earshot serve` process is.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../db/database.js';
import { forEachEngine } from '../../test/engines.js';
import { JobRunner, LostClaim, PermanentJobError } from './job-runner.js';
import { INTERRUPTED_TOO_OFTEN, JobsRepository } from './jobs.repository.js';

const logger = pino({ level: 'silent' });
const clock = { now: () => Date.now() };
const job = (key: string, maxAttempts = 5) => ({
  type: 'cache',
  dedupeKey: key,
  payload: { key },
  ownerId: null,
  maxAttempts,
});
const rowOf = (db: Db, key: string) =>
  db.selectFrom('jobs').selectAll().where('dedupe_key', '=', key).executeTakeFirstOrThrow();

forEachEngine((engine) => {
  describe('job queue shared by replicas', () => {
    it('two replicas claiming concurrently get every job exactly once, each claim with its runner and lease', async () => {
      const { db } = await engine.open();
      const now = Date.now();
      const ids = Array.from({ length: 30 }, (_, i) => `job-${String(i).padStart(2, '0')}`);
      const setup = new JobsRepository(db);
      for (const id of ids) await setup.enqueue(job(id), now);

      const a = new JobsRepository(db, { leaseMs: 5_000 });
      const b = new JobsRepository(db, { leaseMs: 5_000 });
      expect(a.runnerId).not.toBe(b.runnerId);
      const claimed: { key: string; by: string }[] = [];
      // Four workers per replica drain the queue at the same time.
      const worker = async (repo: JobsRepository) => {
        for (;;) {
          const next = await repo.claimNext(['cache'], now);
          if (!next) {
            const left = await db.selectFrom('jobs').select('id').where('state', '=', 'queued').execute();
            if (left.length === 0) return;
            continue; // skipped rows another worker was claiming: look again
          }
          expect(next).toMatchObject({
            state: 'running',
            attempts: 1,
            claimed_by: repo.runnerId,
            lease_until: now + 5_000,
          });
          claimed.push({ key: next.dedupe_key ?? '', by: repo.runnerId });
        }
      };
      await Promise.all([a, b, a, b, a, b, a, b].map(worker));
      expect(claimed.map((c) => c.key).sort()).toEqual(ids);
      const rows = await db.selectFrom('jobs').select(['dedupe_key', 'state', 'attempts', 'claimed_by']).execute();
      expect(rows.every((r) => r.state === 'running' && r.attempts === 1)).toBe(true);
      // The stored owner of each job is the replica that got it.
      const byKey = new Map(claimed.map((c) => [c.key, c.by]));
      for (const r of rows) expect(r.claimed_by).toBe(byKey.get(r.dedupe_key ?? ''));
    });

    it("a starting replica requeues only lapsed claims; another live replica's jobs stay running", async () => {
      const { db } = await engine.open();
      const t0 = 1_000_000;
      const live = new JobsRepository(db, { leaseMs: 10_000 });
      const dead = new JobsRepository(db, { leaseMs: 10_000 });
      await live.enqueue(job('live'), t0);
      await dead.enqueue(job('dead'), t0 + 1); // claimed second (queue order: due time)
      expect((await live.claimNext(['cache'], t0))?.dedupe_key).toBe('live');
      expect((await dead.claimNext(['cache'], t0 + 1))?.dedupe_key).toBe('dead');

      // 8 s later the live one renews; the dead one cannot.
      const liveId = (await rowOf(db, 'live')).id;
      expect(await live.renewLeases([liveId], t0 + 8_000)).toEqual([liveId]);
      // A renewal names only the caller's own claims.
      expect(await live.renewLeases([(await rowOf(db, 'dead')).id], t0 + 8_000)).toEqual([]);

      const starting = new JobsRepository(db);
      expect(await starting.recoverRunning(['cache'], t0 + 9_000, 'expired')).toEqual({ requeued: 0, failed: 0 });
      expect(await starting.recoverRunning(['cache'], t0 + 12_000, 'expired')).toEqual({ requeued: 1, failed: 0 });
      expect(await rowOf(db, 'dead')).toMatchObject({
        state: 'queued',
        claimed_by: null,
        lease_until: null,
        attempts: 1,
      });
      expect(await rowOf(db, 'live')).toMatchObject({
        state: 'running',
        claimed_by: live.runnerId,
        lease_until: t0 + 18_000,
      });

      // One process on SQLite: at start every running job is its dead predecessor's.
      expect(await starting.recoverRunning(['cache'], t0 + 12_000, 'all')).toEqual({ requeued: 1, failed: 0 });
      expect((await rowOf(db, 'live')).state).toBe('queued');
    });

    it('a lapsed job on its last attempt is given up with the interruption message (both engines)', async () => {
      const { db } = await engine.open();
      const repo = new JobsRepository(db, { leaseMs: 1_000 });
      await repo.enqueue(job('doomed', 1), 100);
      await repo.claimNext(['cache'], 100);
      expect(await new JobsRepository(db).recoverRunning(['cache'], 5_000, 'expired')).toEqual({
        requeued: 0,
        failed: 1,
      });
      expect(await rowOf(db, 'doomed')).toMatchObject({
        state: 'failed',
        last_error: INTERRUPTED_TOO_OFTEN.replace('%d', '1'),
      });
    });

    it("a runner's heartbeat keeps its job; another runner takes over the job of one that stopped renewing", async () => {
      const { db } = await engine.open();
      const leaseMs = 300;
      // Replica A claims a job and dies: it never renews (no runner, just the claim it made).
      const dead = new JobsRepository(db, { leaseMs });
      await dead.enqueue(job('orphan'), clock.now());
      const leaseOfDead = (await dead.claimNext(['cache'], clock.now()))?.lease_until ?? 0;
      expect(leaseOfDead).toBeGreaterThan(0);

      // Replica B runs with leases (as on PostgreSQL); it starts while A's lease still holds.
      const repoB = new JobsRepository(db, { leaseMs });
      const runnerB = new JobRunner({ repo: repoB, clock, logger, concurrency: 1, leases: true });
      let ranBy!: (run: { attempts: number; at: number }) => void;
      const ran = new Promise<{ attempts: number; at: number }>((resolve) => {
        ranBy = resolve;
      });
      let release!: () => void;
      const hold = new Promise<void>((resolve) => {
        release = resolve;
      });
      runnerB.register('cache', async (j) => {
        ranBy({ attempts: j.attempts, at: clock.now() });
        await hold; // keep running across several heartbeats
      });
      await runnerB.start();
      // Not before A's lease lapsed (B's start or heartbeat took it then), as attempt 2.
      const run = await ran;
      expect(run.attempts).toBe(2);
      expect(run.at).toBeGreaterThanOrEqual(leaseOfDead);
      const running = await rowOf(db, 'orphan');
      expect(running).toMatchObject({ state: 'running', claimed_by: repoB.runnerId });

      // B's heartbeat renews its own claim while the handler runs: a third replica starting now
      // leaves the job alone even after the first lease would have lapsed.
      const firstLease = running.lease_until ?? 0;
      await new Promise<void>((resolve) => {
        const poll = async () => {
          const row = await rowOf(db, 'orphan');
          if ((row.lease_until ?? 0) > firstLease && clock.now() > firstLease) resolve();
          else setTimeout(poll, 20);
        };
        void poll();
      });
      expect(await new JobsRepository(db).recoverRunning(['cache'], clock.now(), 'expired')).toEqual({
        requeued: 0,
        failed: 0,
      });
      release();
      await runnerB.whenIdle();
      expect((await rowOf(db, 'orphan')).state).toBe('done');
      await runnerB.stop();
    });

    it('a stalled runner whose job was taken over cannot finish, fail or retry it; it logs that it lost the claim', async () => {
      const { db } = await engine.open();
      const leaseMs = 10_000;
      const t0 = 2_000_000;
      const lines: { msg: string; outcome?: string }[] = [];
      const captured = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });

      // Replica A claims three jobs, then stalls longer than its lease: B requeues and claims them.
      const a = new JobsRepository(db, { leaseMs });
      const b = new JobsRepository(db, { leaseMs });
      for (const key of ['finish', 'fail', 'retry']) await a.enqueue(job(key), t0);
      const taken = [
        await a.claimNext(['cache'], t0),
        await a.claimNext(['cache'], t0),
        await a.claimNext(['cache'], t0),
      ];
      const at = t0 + leaseMs + 1;
      expect(await b.recoverRunning(['cache'], at, 'expired')).toEqual({ requeued: 3, failed: 0 });
      for (let i = 0; i < 3; i++) expect((await b.claimNext(['cache'], at))?.claimed_by).toBe(b.runnerId);

      // A wakes up: its outcomes are refused (nothing written), for each way a job can end.
      const idOf = (key: string) => taken.find((t) => t?.dedupe_key === key)?.id ?? '';
      const [finishJob, failJob, retryJob] = [idOf('finish'), idOf('fail'), idOf('retry')];
      expect(await a.finish(finishJob, at + 1)).toBe(false);
      expect(await a.fail(failJob, 'stale failure', at + 1)).toBe(false);
      expect(await a.retryLater(retryJob, 'stale retry', at + 5_000, at + 1)).toBe(false);
      expect(await a.requeue(retryJob, at + 1)).toBe(false);
      await a.setProgress(finishJob, 0.5, at + 1);
      for (const key of ['finish', 'fail', 'retry'])
        expect(await rowOf(db, key)).toMatchObject({
          state: 'running',
          claimed_by: b.runnerId,
          attempts: 2,
          last_error: null,
          progress: 0,
        });
      // The claimer's own outcomes are recorded.
      expect(await b.finish(finishJob, at + 2)).toBe(true);
      expect(await rowOf(db, 'finish')).toMatchObject({ state: 'done', progress: 1 });
      expect(await b.fail(failJob, 'for good', at + 2)).toBe(true);
      expect(await rowOf(db, 'fail')).toMatchObject({ state: 'failed', last_error: 'for good' });
      expect(await b.finish(retryJob, at + 2)).toBe(true);

      // Through the runner: a handler of A that outlives A's lease loses the claim to B, and the
      // runner logs it instead of marking B's job done (or failed).
      const runnerA = new JobRunner({ repo: a, clock: { now: () => at + 20_000 }, logger: captured, concurrency: 2 });
      const c = new JobsRepository(db, { leaseMs });
      await a.enqueue(job('stalled-ok'), at + 20_000);
      await a.enqueue(job('stalled-bad'), at + 20_000);
      let stalled!: () => void;
      const running = new Promise<void>((resolve) => {
        stalled = resolve;
      });
      let resume!: () => void;
      const resumed = new Promise<void>((resolve) => {
        resume = resolve;
      });
      let started = 0;
      runnerA.register('cache', async (j) => {
        if (++started === 2) stalled();
        await resumed;
        if (j.dedupe_key === 'stalled-bad') throw new PermanentJobError('late failure');
      });
      await runnerA.start();
      await running;
      const later = at + 20_000 + leaseMs + 1;
      expect(await c.recoverRunning(['cache'], later, 'expired')).toEqual({ requeued: 2, failed: 0 });
      await c.claimNext(['cache'], later);
      await c.claimNext(['cache'], later);
      resume();
      await runnerA.whenIdle();
      await runnerA.stop();
      for (const key of ['stalled-ok', 'stalled-bad'])
        expect(await rowOf(db, key)).toMatchObject({ state: 'running', claimed_by: c.runnerId, last_error: null });
      const lost = lines.filter((l) => l.msg.startsWith('lost the claim on this job'));
      expect(lost.map((l) => l.outcome).sort()).toEqual(['done', 'failed']);
    });

    it("a runner's heartbeat stops a handler whose job another replica took over", async () => {
      const { db } = await engine.open();
      const a = new JobsRepository(db, { leaseMs: 300 });
      const lines: { msg: string }[] = [];
      const captured = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
      const runnerA = new JobRunner({ repo: a, clock, logger: captured, concurrency: 1, leases: true });
      let started!: () => void;
      const running = new Promise<void>((resolve) => {
        started = resolve;
      });
      const stopped = new Promise<unknown>((resolve) => {
        runnerA.register('cache', async (_job, ctx) => {
          started();
          // Works until told to stop (a download would be killed here).
          await new Promise<void>((done) => ctx.signal.addEventListener('abort', () => done(), { once: true }));
          resolve(ctx.signal.reason);
          throw ctx.signal.reason;
        });
      });
      await a.enqueue(job('taken-over'), clock.now());
      await runnerA.start();
      await running;
      // Replica C sees A's claim as lapsed (A stalled, as far as C can tell) and takes the job.
      const c = new JobsRepository(db, { leaseMs: 300 });
      const later = clock.now() + 60_000;
      expect(await c.recoverRunning(['cache'], later, 'expired')).toEqual({ requeued: 1, failed: 0 });
      expect((await c.claimNext(['cache'], later))?.dedupe_key).toBe('taken-over');
      // A's next heartbeat finds it cannot renew the claim: the handler is stopped.
      expect(await stopped).toBeInstanceOf(LostClaim);
      await runnerA.whenIdle();
      await runnerA.stop();
      expect(await rowOf(db, 'taken-over')).toMatchObject({
        state: 'running',
        claimed_by: c.runnerId,
        last_error: null,
      });
      expect(lines.some((l) => l.msg.startsWith('lost the claim on this job'))).toBe(true);
    });
  });
});
