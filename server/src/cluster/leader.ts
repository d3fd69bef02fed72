/**
 * Which replica runs the library's background duties (scan on start, folder watcher, scheduled
 * full scans): exactly one at a time, all replicas serve requests.
 *
 * - {@link SoleLeader}: SQLite, one process: always the leader (today's behaviour).
 * - {@link PgLeader}: PostgreSQL: whoever holds a session-level advisory lock on a dedicated
 *   connection. The others try again every `retryMs`; the lock is freed by PostgreSQL the moment
 *   the holder's connection ends (process killed, machine gone: TCP keepalives on the server side
 *   notice a silent peer within seconds), so a dead leader's duties move within `retryMs` plus that.
 *   The holder checks its own connection every `retryMs` too and steps down when it breaks, so two
 *   replicas never both believe they lead for longer than one check.
 */
import type { Logger } from '../shared/logger.js';
import { ADVISORY_NAMESPACE, type PgClient, type PgClientFactory } from './pg.js';

export type LeadershipListener = (leader: boolean) => void;

export interface Leadership {
  /** Whether this replica leads right now. */
  readonly isLeader: boolean;
  /** Called on every change (and once at once with the current state). Returns an unsubscribe. */
  onChange(listener: LeadershipListener): () => void;
  start(): Promise<void>;
  /** Steps down (releases the lock) and stops trying. */
  stop(): Promise<void>;
}

/** One process, one database file: this process always leads. */
export class SoleLeader implements Leadership {
  readonly isLeader = true;
  onChange(listener: LeadershipListener): () => void {
    listener(true);
    return () => {};
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

/** The advisory lock id of the leader lock (second half of the two-int key; see pg.ts). */
const LEADER_LOCK = 1;

export interface PgLeaderOptions {
  connect: PgClientFactory;
  logger: Logger;
  /** How often a follower retries and the leader checks its connection (default 3 s). */
  retryMs?: number;
  /** Shown in the logs (host name, pod name). */
  replica: string;
}

export class PgLeader implements Leadership {
  private leading = false;
  private client: PgClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly listeners = new Set<LeadershipListener>();
  private readonly retryMs: number;
  /** The attempt in flight (stop waits for it, so no connection outlives stop). */
  private attempt: Promise<void> = Promise.resolve();

  constructor(private readonly o: PgLeaderOptions) {
    this.retryMs = o.retryMs ?? 3000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  onChange(listener: LeadershipListener): () => void {
    this.listeners.add(listener);
    listener(this.leading);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.attempt = this.tick();
    await this.attempt;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.attempt;
    const client = this.client;
    this.client = null;
    if (client) {
      // Ending the session frees the lock; an explicit unlock first makes the hand-over immediate
      // even when the end is slow.
      await client.query('select pg_advisory_unlock($1, $2)', [ADVISORY_NAMESPACE, LEADER_LOCK]).catch(() => {});
      await client.end().catch(() => {});
    }
    this.set(false, 'stopped');
  }

  /** One round: (re)connect when needed, then try the lock (follower) or check the connection (leader). */
  private async tick(): Promise<void> {
    try {
      if (!this.client) this.client = await this.open();
      if (this.leading) {
        await this.client.query('select 1');
      } else {
        const { rows } = await this.client.query<{ locked: boolean }>('select pg_try_advisory_lock($1, $2) as locked', [
          ADVISORY_NAMESPACE,
          LEADER_LOCK,
        ]);
        if (rows[0]?.locked && !this.stopped) this.set(true, 'acquired the leader lock');
      }
    } catch (err) {
      this.drop(err as Error);
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => {
        this.attempt = this.tick();
      }, this.retryMs);
      this.timer.unref();
    }
  }

  private async open(): Promise<PgClient> {
    const client = await this.o.connect();
    // A broken connection (the database restarted, the network went away) ends leadership at once.
    client.on('error', (err) => this.drop(err));
    return client;
  }

  private drop(err: Error): void {
    const client = this.client;
    this.client = null;
    client?.end().catch(() => {});
    if (this.leading) this.o.logger.warn({ area: 'cluster', err: err.message }, 'lost the leader connection');
    this.set(false, 'connection lost');
  }

  private set(leader: boolean, reason: string): void {
    if (leader === this.leading) return;
    this.leading = leader;
    this.o.logger.info(
      { area: 'cluster', replica: this.o.replica, leader, reason },
      leader ? 'this replica now leads (library scans and watching)' : 'this replica no longer leads',
    );
    for (const listener of this.listeners) listener(leader);
  }
}
