/**
 * `scan_runs` on PostgreSQL (scan-runs.repository.ts is the SQLite twin). Several machines share
 * one database there, so whether a run's owner still lives cannot come from its `host:pid`: the
 * process that scans holds a session advisory lock on a connection of its own for the whole run.
 * PostgreSQL drops the lock when that session ends (the process exits, is killed, loses its
 * connection), so "the lock is free" means "nobody is scanning" and every run still marked
 * 'running' is then interrupted.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { type RunRow, toView } from './scan-runs.repository.js';
import type { ScanRunsStore } from './scan-store.js';
import type { ScanProgress, ScanRunView, ScanSummary } from './scan/progress.js';

/** The advisory lock "a library scan runs" (two int4 keys: Earshot's class, then the scan lock). */
export const LOCK_CLASS = 0x45_53_48; // "ESH"
export const SCAN_LOCK = 1;

export class PgScanRunsRepository implements ScanRunsStore {
  /** The connection holding the scan lock while this process scans; resolving it gives it back. */
  private held: { release: () => void; done: Promise<void> } | null = null;

  constructor(private readonly db: Db) {}

  async running(): Promise<{ id: string; owner: string | null }[]> {
    return this.db.selectFrom('scan_runs').select(['id', 'owner']).where('state', '=', 'running').execute();
  }

  async markInterrupted(id: string, at: number): Promise<void> {
    await this.db
      .updateTable('scan_runs')
      .set({ state: 'interrupted', finished_at: at })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .execute();
  }

  async runningElsewhere(owner: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('scan_runs')
      .select('owner')
      .where('state', '=', 'running')
      .where('owner', 'is not', null)
      .where('owner', '!=', owner)
      .limit(1)
      .executeTakeFirst();
    return row?.owner ?? null;
  }

  async latestState(): Promise<string | undefined> {
    // No rowid here: among runs started in the same millisecond the unfinished, then the latest
    // finished one counts as the most recent.
    const row = await sql<{ state: string }>`select state from scan_runs
      order by started_at desc, finished_at desc nulls first limit 1`.execute(this.db);
    return row.rows[0]?.state;
  }

  async lastLibraryScanStart(runId: string): Promise<number | null> {
    const row = await this.db
      .selectFrom('scan_runs')
      .select((eb) => eb.fn.max('started_at').as('at'))
      .where('state', 'in', ['done', 'interrupted'])
      .where('folders', 'is', null)
      .where('id', '!=', runId)
      .executeTakeFirst();
    return row?.at ?? null;
  }

  async start(p: ScanProgress, owner: string): Promise<void> {
    await this.db
      .insertInto('scan_runs')
      .values({
        id: p.runId,
        kind: p.kind,
        state: 'running',
        phase: p.phase,
        trigger: p.trigger,
        owner,
        folders: p.folders ? JSON.stringify(p.folders) : null,
        started_at: p.startedAt,
      })
      .execute();
  }

  async saveProgress(p: ScanProgress): Promise<void> {
    await this.db
      .updateTable('scan_runs')
      .set({
        phase: p.phase,
        files_total: p.filesTotal,
        files_done: p.filesDone,
        added: p.added,
        updated: p.updated,
        moved: p.moved,
        removed: p.removed,
        unreadable: p.unreadable,
        deferred: p.deferred,
      })
      .where('id', '=', p.runId)
      .execute();
  }

  async finish(s: ScanSummary): Promise<void> {
    await this.saveProgress(s);
    await this.db
      .updateTable('scan_runs')
      .set({ state: s.state, phase_ms: JSON.stringify(s.phaseMs), error: s.error, finished_at: s.finishedAt })
      .where('id', '=', s.runId)
      .execute();
  }

  async lastFinished(): Promise<ScanRunView | null> {
    const { rows } = await sql<RunRow>`select * from scan_runs where state != 'running'
      order by started_at desc, finished_at desc limit 1`.execute(this.db);
    return rows[0] ? toView(rows[0]) : null;
  }

  async scanLockHeld(): Promise<boolean> {
    if (this.held) return true;
    // A transaction-scoped try: taken (nobody holds it) and dropped again at commit.
    return this.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{
        free: boolean;
      }>`select pg_try_advisory_xact_lock(${LOCK_CLASS}, ${SCAN_LOCK}) free`.execute(trx);
      return !rows[0]?.free;
    });
  }

  async claim(): Promise<boolean> {
    if (this.held) return false;
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let claimed!: (ok: boolean) => void;
    const result = new Promise<boolean>((resolve) => {
      claimed = resolve;
    });
    // One pooled connection is kept for the run: the lock lives as long as its session.
    const done = this.db
      .connection()
      .execute(async (conn) => {
        const { rows } = await sql<{
          ok: boolean;
        }>`select pg_try_advisory_lock(${LOCK_CLASS}, ${SCAN_LOCK}) ok`.execute(conn);
        const ok = rows[0]?.ok === true;
        claimed(ok);
        if (!ok) return;
        await gate;
        await sql`select pg_advisory_unlock(${LOCK_CLASS}, ${SCAN_LOCK})`.execute(conn);
      })
      .catch((err: unknown) => {
        claimed(false);
        throw err;
      });
    const ok = await result;
    if (!ok) {
      await done;
      return false;
    }
    this.held = { release, done: done.catch(() => undefined) };
    return true;
  }

  async release(): Promise<void> {
    const held = this.held;
    if (!held) return;
    this.held = null;
    held.release();
    await held.done;
  }
}
