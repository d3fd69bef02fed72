/**
 * "One download per remote track" across replicas. Within one process the download hub already
 * joins every listener to the same download; these locks extend the rule to every replica on the
 * same database: the replica holding a track's lock downloads it, the others wait for the lock to
 * be released and then serve the finished file from the shared cache (or, when the holder died
 * mid-download and left only a part file, take the lock and download it themselves).
 *
 * - {@link LocalTrackLocks}: one process (SQLite): a lock table in memory.
 * - {@link PgTrackLocks}: a session-level advisory lock per track on a pooled connection held for
 *   the download's duration; PostgreSQL frees it when the holder's connection ends, so a replica
 *   killed mid-download never blocks the track.
 */
import type { Pool, PoolClient } from 'pg';
import { ADVISORY_NAMESPACE, lockIdOf, type PgClientFactory } from './pg.js';

export interface TrackLease {
  release(): Promise<void>;
}

export interface TrackLocks {
  /** The track's download lock, or null when someone (another replica) holds it. */
  tryAcquire(trackId: string): Promise<TrackLease | null>;
  /** Resolves once nobody holds the track's lock (the holder finished, failed or died). */
  waitForRelease(trackId: string, signal?: AbortSignal): Promise<void>;
}

export class LocalTrackLocks implements TrackLocks {
  private readonly held = new Map<string, { released: Promise<void>; resolve: () => void }>();

  async tryAcquire(trackId: string): Promise<TrackLease | null> {
    if (this.held.has(trackId)) return null;
    let resolve = () => {};
    const released = new Promise<void>((r) => {
      resolve = r;
    });
    const entry = { released, resolve };
    this.held.set(trackId, entry);
    return {
      release: async () => {
        if (this.held.get(trackId) === entry) this.held.delete(trackId);
        entry.resolve();
      },
    };
  }

  async waitForRelease(trackId: string, signal?: AbortSignal): Promise<void> {
    const entry = this.held.get(trackId);
    if (!entry) return;
    await abortable(entry.released, signal);
  }
}

/** Second half of a track lock key's namespace: apart from the leader lock's (leader.ts). */
const TRACK_NAMESPACE = ADVISORY_NAMESPACE + 1;

export class PgTrackLocks implements TrackLocks {
  /**
   * `pool`: holds the connections of locks this replica owns (size it to the download limit);
   * `connect`: a dedicated connection per waiter, ended when the wait is over or abandoned.
   */
  constructor(
    private readonly pool: Pool,
    private readonly connect: PgClientFactory,
  ) {}

  async tryAcquire(trackId: string): Promise<TrackLease | null> {
    const client: PoolClient = await this.pool.connect();
    let locked = false;
    try {
      const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1, $2) as locked', [
        TRACK_NAMESPACE,
        lockIdOf(trackId),
      ]);
      locked = rows[0]?.locked === true;
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    if (!locked) {
      client.release();
      return null;
    }
    let done = false;
    // The connection can break while the download runs (the database restarted): PostgreSQL has
    // freed the lock then; the error must not go unhandled, and release() discards the client.
    const broken = (err: Error) => {
      if (done) return;
      done = true;
      client.release(err);
    };
    client.on('error', broken);
    return {
      release: async () => {
        if (done) return;
        done = true;
        client.off('error', broken);
        try {
          await client.query('select pg_advisory_unlock($1, $2)', [TRACK_NAMESPACE, lockIdOf(trackId)]);
          client.release();
        } catch (err) {
          // A connection that cannot unlock is destroyed, which frees the lock just the same.
          client.release(err as Error);
        }
      },
    };
  }

  async waitForRelease(trackId: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const client = await this.connect();
    const key = [TRACK_NAMESPACE, lockIdOf(trackId)];
    // Abandoning the wait ends the connection, which also ends the waiting statement.
    const end = () => void client.end().catch(() => {});
    client.on('error', () => {});
    signal?.addEventListener('abort', end, { once: true });
    try {
      // A shared lock is granted once no exclusive (download) lock is held; given back at once,
      // before this resolves, so the caller's own tryAcquire cannot meet it.
      const granted = client.query('select pg_advisory_lock_shared($1, $2)', key);
      granted.catch(() => {}); // after an abort it fails with "Connection terminated": already handled
      await abortable(granted, signal);
      await client.query('select pg_advisory_unlock_shared($1, $2)', key);
    } finally {
      signal?.removeEventListener('abort', end);
      await client.end().catch(() => {});
    }
  }
}

function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
