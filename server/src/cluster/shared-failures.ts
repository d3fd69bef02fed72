/**
 * Failed sign-in attempts shared by every replica (accounts/throttle.ts keeps its counters; this
 * carries them between replicas). On PostgreSQL each failure is one row of
 * `earshot_auth_failures` (an insert is atomic: concurrent failures on two replicas both count),
 * announced with NOTIFY so every other replica adds it to its own counters within milliseconds;
 * a success deletes the key's rows and announces that too. A replica that starts (or reconnects)
 * reads the rows of the last 24 h, so a restart no longer forgets an attacker.
 *
 * The table is coordination state, not user data: created here when missing (it exists only
 * where replicas do), pruned of rows older than the longest throttle window, never backed up.
 *
 * The throttle decides from its in-memory counters so that deciding costs no round trip; between a
 * failure on replica A and its arrival on B lies one NOTIFY (a few ms on a LAN).
 */
import { randomUUID } from 'node:crypto';
import type { Client, Notification, Pool } from 'pg';
import type { Logger } from '../shared/logger.js';
import type { PgClientFactory } from './pg.js';

export interface FailureEvent {
  /** 'fail' adds one failure at `at`; 'reset' forgets the key. */
  op: 'fail' | 'reset';
  /** Which counter: ip, pair, username (accounts/throttle.ts). */
  scope: string;
  key: string;
  at: number;
}

export interface SharedFailures {
  /** Publishes a failure or reset made here (not echoed back to this replica's listener). */
  publish(event: FailureEvent): Promise<void>;
  /** Receives the other replicas' events, and the stored failures since `since` once at start. */
  subscribe(listener: (event: FailureEvent) => void, since: number): Promise<void>;
  /** Resolves once every event published before the call has been received here (tests, shutdown). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

const CHANNEL = 'earshot_auth_failures';
/** NOTIFY payloads are limited to 8000 bytes; keys are clipped well below (usernames are short). */
const MAX_KEY = 512;

const DDL = `
create table if not exists earshot_auth_failures (
  scope text not null,
  key text not null,
  at bigint not null
);
create index if not exists earshot_auth_failures_key on earshot_auth_failures (scope, key);
create index if not exists earshot_auth_failures_at on earshot_auth_failures (at);`;

export class PgSharedFailures implements SharedFailures {
  /** Tells this replica's own notifications apart from the others'. */
  private readonly origin = randomUUID();
  private listenClient: Client | null = null;
  private listener: ((event: FailureEvent) => void) | null = null;
  private ready: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly connect: PgClientFactory,
    private readonly logger: Logger,
    /** Rows older than this are pruned (the longest throttle window). */
    private readonly keepMs = 24 * 3600_000,
  ) {}

  private init(): Promise<void> {
    this.ready ??= this.pool.query(DDL).then(() => undefined);
    return this.ready;
  }

  async publish(event: FailureEvent): Promise<void> {
    await this.init();
    const key = event.key.slice(0, MAX_KEY);
    const payload = JSON.stringify({ ...event, key, origin: this.origin });
    if (event.op === 'fail') {
      await this.pool.query(
        `with added as (insert into earshot_auth_failures (scope, key, at) values ($1, $2, $3))
         select pg_notify($4, $5)`,
        [event.scope, key, event.at, CHANNEL, payload],
      );
    } else {
      await this.pool.query(
        `with gone as (delete from earshot_auth_failures where scope = $1 and key = $2)
         select pg_notify($3, $4)`,
        [event.scope, key, CHANNEL, payload],
      );
    }
  }

  async subscribe(listener: (event: FailureEvent) => void, since: number): Promise<void> {
    await this.init();
    this.listener = listener;
    await this.listen(since);
  }

  /** LISTEN first, then read the stored rows: nothing published in between can be missed. */
  private async listen(since: number): Promise<void> {
    const client = await this.connect();
    client.on('notification', (msg: Notification) => this.receive(msg));
    client.on('error', (err) => {
      if (this.listenClient !== client) return;
      this.listenClient = null;
      client.end().catch(() => {});
      this.logger.warn({ area: 'cluster', err: err.message }, 'shared throttle feed lost; reconnecting');
      // Events missed while disconnected are in the table: re-read the window on reconnect.
      if (!this.closed) this.reconnect(Date.now() - this.keepMs);
    });
    await client.query(`listen ${CHANNEL}`);
    this.listenClient = client;
    await this.pool.query('delete from earshot_auth_failures where at < $1', [Date.now() - this.keepMs]);
    const { rows } = await this.pool.query<{ scope: string; key: string; at: string }>(
      'select scope, key, at from earshot_auth_failures where at >= $1 order by at',
      [since],
    );
    for (const row of rows) this.listener?.({ op: 'fail', scope: row.scope, key: row.key, at: Number(row.at) });
  }

  private reconnect(since: number, attempt = 0): void {
    const delay = Math.min(30_000, 500 * 2 ** attempt);
    setTimeout(() => {
      if (this.closed) return;
      this.listen(since).catch(() => this.reconnect(since, attempt + 1));
    }, delay).unref();
  }

  private receive(msg: Notification): void {
    if (msg.channel !== CHANNEL || !msg.payload) return;
    let parsed: FailureEvent & { origin?: string };
    try {
      parsed = JSON.parse(msg.payload);
    } catch {
      return;
    }
    if (parsed.origin === this.origin) return;
    if ((parsed.op !== 'fail' && parsed.op !== 'reset') || typeof parsed.key !== 'string') return;
    this.listener?.({ op: parsed.op, scope: String(parsed.scope), key: parsed.key, at: Number(parsed.at) });
  }

  async sync(): Promise<void> {
    // Notifications committed before this query started are delivered before its result.
    await this.listenClient?.query('select 1');
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.listenClient;
    this.listenClient = null;
    await client?.end().catch(() => {});
  }
}
