/**
 * Raw `pg` connections for replica coordination (leader lock, download locks, shared throttle
 * counters). Kept apart from the Kysely database on purpose: advisory locks belong to one
 * session, so they need connections of their own that no query pool hands to someone else.
 *
 * `pg` is loaded only when a PostgreSQL URL is configured (SQLite installs never pay for it).
 */
import type { Client, Pool, PoolClient } from 'pg';

export type PgClient = Client | PoolClient;
export type PgClientFactory = () => Promise<Client>;

/**
 * First half of every Earshot advisory lock key (`pg_try_advisory_lock(int, int)`): 'EARS' in
 * ASCII, so Earshot's locks cannot collide with another application's on a shared database.
 */
export const ADVISORY_NAMESPACE = 0x45415253;

/**
 * Session settings of coordination connections: the server probes an idle client after 5 s and
 * gives up after 3 unanswered probes 2 s apart, so the locks of a replica whose machine vanished
 * (no FIN, no RST) are freed within ~11 s instead of the kernel's default two hours.
 */
const KEEPALIVE_SQL = 'set tcp_keepalives_idle = 5; set tcp_keepalives_interval = 2; set tcp_keepalives_count = 3';

/** Opens dedicated connections to `url` (each caller ends its own). */
export async function pgClientFactory(url: string, applicationName = 'earshot'): Promise<PgClientFactory> {
  const { default: pg } = await import('pg');
  return async () => {
    const client = new pg.Client({
      connectionString: url,
      application_name: applicationName,
      keepAlive: true,
      keepAliveInitialDelayMillis: 5000,
    });
    await client.connect();
    try {
      await client.query(KEEPALIVE_SQL);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    return client;
  };
}

/** A small pool for short coordination statements (throttle counters). */
export async function pgPool(url: string, applicationName = 'earshot', max = 4): Promise<Pool> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, application_name: applicationName, max, keepAlive: true });
  // An idle client's error (the database restarted) must not crash the process; the pool drops it.
  pool.on('error', () => {});
  return pool;
}

/** A 32-bit lock id for a string (FNV-1a): the second half of a per-item advisory lock key. */
export function lockIdOf(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0; // PostgreSQL's int4 is signed
}
