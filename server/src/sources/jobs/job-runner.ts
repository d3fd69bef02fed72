/**
 * Runs persistent jobs of given types with bounded concurrency. Work survives restarts: jobs live in
 * the database; on start, jobs left `running` by a crash are queued again (or failed, when that was
 * their last attempt: attempts are counted when a job is claimed). On SQLite (one process) that is
 * every running job; with replicas on PostgreSQL only those whose claim lease lapsed: each runner
 * renews its own leases every third of the lease and, on the same beat, takes back the jobs of a
 * replica that died (jobs.repository.ts `recoverRunning`). A failed attempt is retried
 * with exponential backoff (base × 2^(attempt-1), capped) until `max_attempts`, then marked failed.
 * Started by main.ts only when `background` is true; tests start it explicitly.
 */
import type { Logger } from '../../shared/logger.js';
import type { Clock } from '../../shared/time.js';
import type { JobRow, JobsRepository } from './jobs.repository.js';

export interface JobContext {
  signal: AbortSignal;
  progress(fraction: number): Promise<void>;
}

export type JobHandler = (job: JobRow, ctx: JobContext) => Promise<void>;

/** A failure that retrying cannot fix (e.g. the track was deleted). */
export class PermanentJobError extends Error {}

/** Why a job's signal aborts when the heartbeat finds another replica took the job over. */
export class LostClaim extends Error {
  constructor() {
    super('another replica took this job over (its lease lapsed)');
  }
}

export interface JobRunnerOptions {
  repo: JobsRepository;
  clock: Clock;
  logger: Logger;
  concurrency: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /**
   * Renew leases and requeue lapsed ones on a timer, and requeue only lapsed jobs at start.
   * Default: when the queue is shared (PostgreSQL). One process on SQLite needs neither.
   */
  leases?: boolean;
}

export class JobRunner {
  private readonly handlers = new Map<string, JobHandler>();
  private readonly running = new Map<string, AbortController>();
  private readonly inFlight = new Set<Promise<void>>();
  private started = false;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private pumping = false;
  private pumpAgain = false;
  private readonly idleWaiters: (() => void)[] = [];

  /** Retry delays (mutable so tests need not wait 30 s). */
  readonly backoff: { baseMs: number; maxMs: number };

  constructor(private readonly o: JobRunnerOptions) {
    this.backoff = { baseMs: o.backoffBaseMs ?? 30_000, maxMs: o.backoffMaxMs ?? 3_600_000 };
  }

  register(type: string, handler: JobHandler): void {
    this.handlers.set(type, handler);
  }

  get isStarted(): boolean {
    return this.started;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    const leases = this.o.leases ?? this.o.repo.shared;
    await this.recover(leases ? 'expired' : 'all');
    if (leases) {
      this.heartbeat = setInterval(() => void this.beat(), Math.max(10, Math.floor(this.o.repo.leaseMs / 3)));
      this.heartbeat.unref();
    }
    this.wake();
  }

  private async recover(scope: 'all' | 'expired'): Promise<number> {
    const { requeued, failed } = await this.o.repo.recoverRunning([...this.handlers.keys()], this.o.clock.now(), scope);
    if (requeued) this.o.logger.info({ area: 'jobs', requeued }, 'resuming jobs interrupted by a restart');
    if (failed)
      this.o.logger.warn({ area: 'jobs', failed }, 'gave up on jobs interrupted by a restart max_attempts times');
    return requeued;
  }

  /** Keeps this runner's claims alive and takes back the jobs of runners that stopped renewing. */
  private async beat(): Promise<void> {
    if (this.stopping) return;
    try {
      const mine = [...this.running.keys()];
      const renewed = new Set(await this.o.repo.renewLeases(mine, this.o.clock.now()));
      for (const id of mine) {
        // Taken over by another replica while this one stalled: stop working on it (its outcome
        // would not be recorded anyway). Jobs that ended since the snapshot are gone from `running`.
        if (!renewed.has(id)) this.running.get(id)?.abort(new LostClaim());
      }
      if ((await this.recover('expired')) > 0) this.wake();
    } catch (err) {
      this.o.logger.warn({ area: 'jobs', err }, 'job lease heartbeat failed');
    }
  }

  /** Stops claiming, aborts running jobs and puts them back in the queue. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const c of this.running.values()) c.abort(new Error('shutting down'));
    await Promise.allSettled([...this.inFlight]);
    this.started = false;
  }

  /** New work was queued: look for it now. */
  wake(): void {
    if (!this.started || this.stopping) return;
    void this.pump();
  }

  /** Resolves when nothing is running and nothing is due (tests wait on this instead of sleeping). */
  whenIdle(): Promise<void> {
    if (this.running.size === 0 && !this.pumping) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        const types = [...this.handlers.keys()];
        while (!this.stopping && this.running.size < this.o.concurrency) {
          const job = await this.o.repo.claimNext(types, this.o.clock.now());
          if (!job) break;
          this.launch(job);
        }
      } while (this.pumpAgain && !this.stopping);
      await this.scheduleNext();
    } catch (err) {
      this.o.logger.error({ area: 'jobs', err }, 'job queue failed');
    } finally {
      this.pumping = false;
      this.notifyIdle();
    }
  }

  private async scheduleNext(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopping || this.running.size >= this.o.concurrency) return;
    const next = await this.o.repo.nextRunAfter([...this.handlers.keys()]);
    if (next === null) return;
    const delay = Math.max(10, Math.min(next - this.o.clock.now(), 60_000));
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  private notifyIdle(): void {
    if (this.running.size === 0 && !this.pumping) for (const w of this.idleWaiters.splice(0)) w();
  }

  private launch(job: JobRow): void {
    const handler = this.handlers.get(job.type);
    const controller = new AbortController();
    this.running.set(job.id, controller);
    const log = this.o.logger.child({ area: 'jobs', jobId: job.id, type: job.type, attempt: job.attempts });
    // A runner that stalled past its lease (the process froze, the database was unreachable) may
    // find another replica took the job over: its outcome is then dropped, not written over theirs.
    const recorded = (kept: boolean, outcome: string) => {
      if (!kept)
        log.warn(
          { outcome, runner: this.o.repo.runnerId },
          'lost the claim on this job (its lease lapsed and another replica took it over): outcome not recorded',
        );
      return kept;
    };
    const task = (async () => {
      try {
        if (!handler) throw new PermanentJobError(`no handler for job type ${job.type}`);
        await handler(job, {
          signal: controller.signal,
          progress: (f) => this.o.repo.setProgress(job.id, Math.max(0, Math.min(1, f)), this.o.clock.now()),
        });
        if (recorded(await this.o.repo.finish(job.id, this.o.clock.now()), 'done')) log.info('job done');
      } catch (err) {
        const now = this.o.clock.now();
        const message = (err as Error).message ?? String(err);
        if (controller.signal.aborted && this.stopping) {
          recorded(await this.o.repo.requeue(job.id, now), 'requeued');
        } else if (err instanceof PermanentJobError || job.attempts >= job.max_attempts) {
          if (recorded(await this.o.repo.fail(job.id, message, now), 'failed'))
            log.warn({ err: message }, 'job failed for good');
        } else {
          const delay = Math.min(this.backoff.baseMs * 2 ** (job.attempts - 1), this.backoff.maxMs);
          if (recorded(await this.o.repo.retryLater(job.id, message, now + delay, now), 'retry'))
            log.info({ err: message, retryInMs: delay }, 'job failed; will retry');
        }
      } finally {
        this.running.delete(job.id);
      }
    })();
    this.inFlight.add(task);
    void task.finally(() => {
      this.inFlight.delete(task);
      if (!this.stopping) this.wake();
      this.notifyIdle();
    });
  }
}
