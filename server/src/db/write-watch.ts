/**
 * Notices writes to the database cheaply, for caches that must not outlive them.
 *
 * SQLite ({@link WriteWatch}): this connection's `total_changes()` (every in-process writer
 * shares the connection; read on every call, ~0.3 µs, no lock) and `data_version` (commits by
 * other connections and processes, such as the CLI; ~6 µs, so read at most every `everyMs`). The
 * token changes at once for writes in this process and within `everyMs` for anyone else's.
 *
 * PostgreSQL ({@link PgWriteWatch}): there is no per-connection counter to read for free, and the
 * writers are other replicas as often as this one, so one statement is polled at most every
 * `everyMs`: the current snapshot (`xmin:xmax:in-progress`, which moves whenever a transaction
 * that writes starts or ends, anywhere in the cluster, and not for reads) and the catalog version
 * (migration 0008). A caller that needs a current token awaits {@link WriteWatcher.current}: it
 * is at hand while the last poll is younger than `everyMs`, else one poll is shared by everyone
 * who asks. So a write by any replica is seen within `everyMs` (plus one round trip), and a write
 * made by this process at once: PostgreSQL's Kysely counts the statements that changed rows
 * ({@link noteLocalWrite}, db/postgres.ts) and a watch that has not polled since polls again.
 */
import type SQLite from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

/** The engine-neutral face both watches offer (search, the Subsonic catalog cache). */
export interface WriteWatcher {
  /** The last known token (never waits; may be up to `everyMs` old). */
  token(): string;
  /** A token no older than `everyMs`: a value when at hand, else a promise of a fresh poll. */
  current(): string | Promise<string>;
  /** Whether the watched connection is inside a transaction (its own writes not yet committed). */
  inTransaction(): boolean;
  /** Reads afresh on the next call. */
  reset(): void;
}

export class WriteWatch implements WriteWatcher {
  private readonly changes;
  private readonly dataVersion;
  private version = 0;
  private versionAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly everyMs = 250,
  ) {
    this.changes = sqlite.prepare('select total_changes()').pluck();
    this.dataVersion = sqlite.prepare('select data_version from pragma_data_version').pluck();
  }

  /** Changes whenever anything was written since the last call (see the module comment). */
  token(now = Date.now()): string {
    if (now - this.versionAt >= this.everyMs) {
      this.version = this.dataVersion.get() as number;
      this.versionAt = now;
    }
    return `${this.changes.get() as number}:${this.version}`;
  }

  current(): string {
    return this.token();
  }

  inTransaction(): boolean {
    return this.sqlite.inTransaction;
  }

  /** Reads `data_version` again on the next call. */
  reset(): void {
    this.versionAt = Number.NEGATIVE_INFINITY;
  }
}

/** What one PostgreSQL poll saw. */
export interface PgWatchState {
  /** Moves when any writing transaction starts or ends (the snapshot's text). */
  writes: string;
  /** The catalog version (migration 0008), as text. */
  catalog: string;
}

/** Statements of this process that changed rows on PostgreSQL (read-your-writes for the watches). */
let localWrites = 0;
export function noteLocalWrite(): void {
  localWrites++;
}

export class PgWriteWatch implements WriteWatcher {
  private state: PgWatchState = { writes: '', catalog: '' };
  private at = Number.NEGATIVE_INFINITY;
  /** {@link localWrites} when the last poll started: a write since then makes the next call poll. */
  private seenWrites = -1;
  private poll: Promise<PgWatchState> | null = null;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly everyMs = 250,
  ) {}

  token(): string {
    return this.state.writes;
  }

  current(now = Date.now()): string | Promise<string> {
    const state = this.currentState(now);
    return state instanceof Promise ? state.then((s) => s.writes) : state.writes;
  }

  /** Both parts of the last poll (see {@link current}). */
  currentState(now = Date.now()): PgWatchState | Promise<PgWatchState> {
    if (now - this.at < this.everyMs && this.seenWrites === localWrites) return this.state;
    return this.refresh();
  }

  /**
   * Whether this process changed rows since the last poll started: its next answer must come from
   * a new poll (read-your-writes), not from one still fresh by the clock.
   */
  get ownWritesPending(): boolean {
    return this.seenWrites !== localWrites;
  }

  /**
   * Polls now (concurrent callers share one poll). A poll already in flight is shared only when
   * this process wrote nothing since it started; otherwise another poll follows it, so the caller
   * sees its own write.
   */
  refresh(): Promise<PgWatchState> {
    if (this.poll && this.seenWrites !== localWrites) {
      return this.poll.catch(() => this.state).then(() => this.refresh());
    }
    if (!this.poll) {
      const started = Date.now();
      this.seenWrites = localWrites;
      this.poll = sql<{ writes: string; catalog: string | number | null }>`
          select pg_current_snapshot()::text as writes, (select version from catalog_version where id = 1) as catalog`
        .execute(this.db)
        .then(({ rows }) => {
          const row = rows[0];
          this.state = { writes: row?.writes ?? '', catalog: String(row?.catalog ?? '') };
          // Counted from the start of the poll: what it saw is at least that recent.
          this.at = started;
          return this.state;
        })
        .finally(() => {
          this.poll = null;
        });
    }
    return this.poll;
  }

  /** The pool's connections are never left inside a transaction by the readers of this watch. */
  inTransaction(): boolean {
    return false;
  }

  reset(): void {
    this.at = Number.NEGATIVE_INFINITY;
  }
}
