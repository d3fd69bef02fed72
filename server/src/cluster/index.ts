/**
 * Replica coordination, chosen by the database engine: on SQLite one process owns everything
 * (always the leader, locks and throttle counters in memory, as before); on PostgreSQL every
 * replica of one deployment shares the leader lock, the per-track download locks and the sign-in
 * failure counters through the database (README.md here).
 */
import { hostname } from 'node:os';
import { PostgresAdapter } from 'kysely';
import type { Logger } from '../shared/logger.js';
import { type Leadership, PgLeader, SoleLeader } from './leader.js';
import { pgClientFactory, pgPool } from './pg.js';
import { PgSharedFailures, type SharedFailures } from './shared-failures.js';
import { LocalTrackLocks, PgTrackLocks, type TrackLocks } from './track-locks.js';

export type { Leadership } from './leader.js';
export type { SharedFailures } from './shared-failures.js';
export type { TrackLease, TrackLocks } from './track-locks.js';

export interface Cluster {
  /** 'single': one process on SQLite; 'replicas': PostgreSQL, any number of replicas. */
  mode: 'single' | 'replicas';
  /** This replica's name in logs and /healthz (host name: the pod name on Kubernetes). */
  replica: string;
  leader: Leadership;
  trackLocks: TrackLocks;
  /** Sign-in failures shared with the other replicas (null: one process, nothing to share). */
  failures: SharedFailures | null;
  close(): Promise<void>;
}

export interface ClusterOptions {
  /** EARSHOT_DATABASE_URL when it names PostgreSQL. */
  postgresUrl?: string;
  logger: Logger;
  /** Leader retry/check interval (default 3 s: a dead leader's duties move within ~10 s). */
  leaderRetryMs?: number;
  /** Concurrent download locks this replica can hold (its listener + job download limits). */
  maxTrackLocks?: number;
  replica?: string;
}

/** The PostgreSQL URL of a configuration (helper "pg"'s `databaseUrl`, EARSHOT_DATABASE_URL), if any. */
export function postgresUrlOf(config: object): string | undefined {
  const url = (config as { databaseUrl?: unknown }).databaseUrl;
  return typeof url === 'string' && /^postgres(ql)?:\/\//i.test(url) ? url : undefined;
}

/** Whether a Kysely instance talks to PostgreSQL (the coordination must match the data's engine). */
export function isPostgres(db: { getExecutor(): { readonly adapter: unknown } }): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

export async function createCluster(o: ClusterOptions): Promise<Cluster> {
  const replica = o.replica ?? process.env.HOSTNAME ?? hostname();
  if (!o.postgresUrl) {
    return {
      mode: 'single',
      replica,
      leader: new SoleLeader(),
      trackLocks: new LocalTrackLocks(),
      failures: null,
      close: async () => {},
    };
  }
  const name = `earshot ${replica}`.slice(0, 63);
  const connect = await pgClientFactory(o.postgresUrl, name);
  const lockPool = await pgPool(o.postgresUrl, name, o.maxTrackLocks ?? 16);
  const pool = await pgPool(o.postgresUrl, name, 2);
  const logger = o.logger.child({ area: 'cluster', replica });
  const leader = new PgLeader({ connect, logger, retryMs: o.leaderRetryMs, replica });
  const failures = new PgSharedFailures(pool, connect, logger);
  return {
    mode: 'replicas',
    replica,
    leader,
    trackLocks: new PgTrackLocks(lockPool, connect),
    failures,
    async close() {
      await leader.stop();
      await failures.close();
      await Promise.all([lockPool.end(), pool.end()]);
    },
  };
}
