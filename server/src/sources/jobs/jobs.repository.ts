/** SQL over the persistent `jobs` table (0001): enqueue with dedupe, claim, finish, retry, recover. */
import { type Selectable, sql } from 'kysely';
import { isPostgres } from '../../cluster/index.js';
import type { Db } from '../../db/database.js';
import type { JobsTable } from '../../db/schema.js';
import { newId } from '../../shared/ids.js';

export type JobRow = Selectable<JobsTable>;

/** `last_error` of a job given up because the server died while it ran (`%d`: the attempt count). */
export const INTERRUPTED_TOO_OFTEN =
  'The server stopped while this job ran, %d times (max attempts): given up so a job that crashes the server cannot loop. Retry it by asking again (e.g. mark the playlist offline again).';

/** How long a claim holds without renewal (the runner renews every third of it). */
export const DEFAULT_LEASE_MS = 30_000;

export class JobsRepository {
  /** PostgreSQL: several replicas claim from one queue (FOR UPDATE SKIP LOCKED). */
  readonly shared: boolean;
  private ownId: string | undefined;
  readonly leaseMs: number;

  constructor(
    private readonly db: Db,
    options: { leaseMs?: number; runnerId?: string } = {},
  ) {
    this.shared = isPostgres(db);
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.ownId = options.runnerId;
  }

  /**
   * This process's claims carry this id (`claimed_by`): a fresh one per process, never reused.
   * Made on first use: `node:crypto` then loads after the server listens (issue 16 item 5).
   */
  get runnerId(): string {
    this.ownId ??= newId();
    return this.ownId;
  }

  /**
   * Queues a job unless a live one (queued/running) with the same (type, dedupe key) exists —
   * the partial unique index `jobs_dedupe` makes that check atomic. Returns true when queued.
   */
  async enqueue(
    job: { type: string; dedupeKey: string; payload: unknown; ownerId: string | null; maxAttempts?: number },
    now: number,
  ): Promise<boolean> {
    const insert = this.db.insertInto('jobs').values({
      id: newId(),
      type: job.type,
      dedupe_key: job.dedupeKey,
      payload: JSON.stringify(job.payload),
      state: 'queued',
      max_attempts: job.maxAttempts ?? 5,
      run_after: now,
      owner_id: job.ownerId,
      created_at: now,
      updated_at: now,
    });
    // SQLite: OR IGNORE (a conflict target cannot name a partial index with bound parameters).
    // PostgreSQL: ON CONFLICT DO NOTHING without a target covers the partial unique index too.
    const result = await (this.shared
      ? insert.onConflict((oc) => oc.doNothing())
      : insert.orIgnore()
    ).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /**
   * Atomically moves the next due job of these types to `running` and returns it. On SQLite the
   * write transaction serialises claims; on PostgreSQL replicas claim concurrently: the row is
   * locked with FOR UPDATE SKIP LOCKED (a job another replica is claiming is skipped, not waited
   * for), and the update only counts when the job was still queued.
   */
  async claimNext(types: string[], now: number): Promise<JobRow | null> {
    return this.db.transaction().execute(async (trx) => {
      let query = trx
        .selectFrom('jobs')
        .selectAll()
        .where('state', '=', 'queued')
        .where('type', 'in', types)
        .where('run_after', '<=', now)
        .orderBy('run_after')
        .orderBy('created_at')
        .limit(1);
      if (this.shared) query = query.forUpdate().skipLocked();
      const next = await query.executeTakeFirst();
      if (!next) return null;
      const claimed = await trx
        .updateTable('jobs')
        .set({
          state: 'running',
          attempts: next.attempts + 1,
          updated_at: now,
          claimed_by: this.runnerId,
          lease_until: now + this.leaseMs,
        })
        .where('id', '=', next.id)
        .where('state', '=', 'queued')
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) return null;
      return {
        ...next,
        state: 'running' as const,
        attempts: next.attempts + 1,
        claimed_by: this.runnerId,
        lease_until: now + this.leaseMs,
      };
    });
  }

  /** When the next queued job becomes due (to sleep until then), or null when none is queued. */
  async nextRunAfter(types: string[]): Promise<number | null> {
    const row = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.min<number>('run_after').as('next'))
      .where('state', '=', 'queued')
      .where('type', 'in', types)
      .executeTakeFirst();
    return row?.next ?? null;
  }

  /**
   * The outcome of a job is recorded only while this runner still holds its claim: a replica that
   * stalled past its lease (another took the job over) must not overwrite the new claimer's work.
   * Each returns false when the claim was lost (nothing written).
   */
  private mine(id: string) {
    return this.db
      .updateTable('jobs')
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('claimed_by', '=', this.runnerId);
  }

  async finish(id: string, now: number): Promise<boolean> {
    const result = await this.mine(id)
      .set({ state: 'done', progress: 1, last_error: null, updated_at: now, lease_until: null })
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async retryLater(id: string, error: string, runAfter: number, now: number): Promise<boolean> {
    const result = await this.mine(id)
      .set({
        state: 'queued',
        last_error: error.slice(0, 500),
        run_after: runAfter,
        updated_at: now,
        claimed_by: null,
        lease_until: null,
      })
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async fail(id: string, error: string, now: number): Promise<boolean> {
    const result = await this.mine(id)
      .set({ state: 'failed', last_error: error.slice(0, 500), updated_at: now, lease_until: null })
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Puts a running job of this runner back in the queue without counting the attempt (shutdown). */
  async requeue(id: string, now: number): Promise<boolean> {
    const result = await this.mine(id)
      .set((eb) => ({
        state: 'queued',
        attempts: eb
          .case()
          .when('attempts', '>', 0)
          .then(eb('attempts', '-', 1))
          .else(0)
          .end(),
        run_after: now,
        updated_at: now,
        claimed_by: null,
        lease_until: null,
      }))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Extends this process's claims on the jobs it is still running (the runner's heartbeat), so no
   * other replica takes them for abandoned. Returns the ids renewed: one missing was taken over.
   */
  async renewLeases(ids: string[], now: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .updateTable('jobs')
      .set({ lease_until: now + this.leaseMs })
      .where('id', 'in', ids)
      .where('state', '=', 'running')
      .where('claimed_by', '=', this.runnerId)
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * Jobs left `running` by a process that is gone. The attempt was counted when the job was
   * claimed (durably, before any work), so one that died with its process `max_attempts` times is
   * marked failed with {@link INTERRUPTED_TOO_OFTEN} (a download that itself kills the server
   * would otherwise loop at every start); the others are queued again.
   *
   * `scope: 'all'` (one process on SQLite, at start-up): every running job is orphaned, since the
   * process that ran it is this one's predecessor. `scope: 'expired'` (replicas): only jobs whose
   * claim lapsed — another live replica renews its leases, so its jobs are left alone; rows
   * claimed before leases existed (no `lease_until`) count as lapsed.
   */
  async recoverRunning(
    types: string[],
    now: number,
    scope: 'all' | 'expired' = 'all',
  ): Promise<{ requeued: number; failed: number }> {
    if (types.length === 0) return { requeued: 0, failed: 0 };
    const [before, after] = INTERRUPTED_TOO_OFTEN.split('%d');
    return this.db.transaction().execute(async (trx) => {
      const failedQuery = trx
        .updateTable('jobs')
        .set({
          state: 'failed',
          // `||` and CAST read the same on SQLite and PostgreSQL (printf/format do not).
          last_error: sql<string>`cast(${before} as text) || cast(attempts as text) || cast(${after} as text)`,
          updated_at: now,
        })
        .where('state', '=', 'running')
        .where('type', 'in', types)
        .whereRef('attempts', '>=', 'max_attempts');
      const requeuedQuery = trx
        .updateTable('jobs')
        .set({ state: 'queued', run_after: now, updated_at: now, claimed_by: null, lease_until: null })
        .where('state', '=', 'running')
        .where('type', 'in', types);
      const lapsed = scope === 'expired';
      const failed = await (lapsed
        ? failedQuery.where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
        : failedQuery
      ).executeTakeFirst();
      const requeued = await (lapsed
        ? requeuedQuery.where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
        : requeuedQuery
      ).executeTakeFirst();
      return { requeued: Number(requeued.numUpdatedRows), failed: Number(failed.numUpdatedRows) };
    });
  }

  /**
   * Dedupe keys (of these) whose latest job of this type was given up after interruptions: the
   * start-up reconcile leaves them alone until someone asks again (e.g. marks the playlist offline).
   */
  async gaveUpAfterInterruptions(type: string, keys: string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('jobs as j')
      .select('j.dedupe_key')
      .where('j.type', '=', type)
      .where('j.state', '=', 'failed')
      .where('j.last_error', 'like', `${INTERRUPTED_TOO_OFTEN.slice(0, INTERRUPTED_TOO_OFTEN.indexOf('%'))}%`)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('jobs as k')
              .select('k.id')
              .where('k.type', '=', type)
              .whereRef('k.dedupe_key', '=', 'j.dedupe_key')
              .whereRef('k.created_at', '>', 'j.created_at'),
          ),
        ),
      )
      .execute();
    const wanted = new Set(keys);
    return new Set(rows.flatMap((r) => (r.dedupe_key !== null && wanted.has(r.dedupe_key) ? [r.dedupe_key] : [])));
  }

  async setProgress(id: string, progress: number, now: number): Promise<void> {
    await this.mine(id).set({ progress, updated_at: now }).execute();
  }

  list(filter: {
    types?: string[];
    states?: JobRow['state'][];
    dedupeKeys?: string[];
    limit: number;
    offset: number;
  }): Promise<JobRow[]> {
    let q = this.db.selectFrom('jobs').selectAll();
    if (filter.types?.length) q = q.where('type', 'in', filter.types);
    if (filter.states?.length) q = q.where('state', 'in', filter.states);
    if (filter.dedupeKeys) {
      if (filter.dedupeKeys.length === 0) return Promise.resolve([]);
      q = q.where('dedupe_key', 'in', filter.dedupeKeys);
    }
    return q.orderBy('updated_at', 'desc').orderBy('id').limit(filter.limit).offset(filter.offset).execute();
  }

  async countByState(types: string[]): Promise<Record<JobRow['state'], number>> {
    const rows = await this.db
      .selectFrom('jobs')
      .select((eb) => ['state', eb.fn.countAll<number>().as('n')])
      .where('type', 'in', types)
      .groupBy('state')
      .execute();
    const out: Record<JobRow['state'], number> = { queued: 0, running: 0, done: 0, failed: 0 };
    for (const r of rows) out[r.state] = Number(r.n);
    return out;
  }
}
