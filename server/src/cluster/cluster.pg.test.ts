/**
 * Replica coordination on a real PostgreSQL server (the run's throwaway cluster): two "replicas"
 * are two independent instances with their own connections, as two processes would have; a dead
 * replica is a terminated backend (what PostgreSQL sees when a pod is killed) or a child process
 * killed with SIGKILL.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { AuthThrottle } from '../accounts/throttle.js';
import { TooManyRequests } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { ManualClock } from '../test/accounts.js';
import { createTestDatabase } from '../test/postgres.js';
import { createCluster } from './index.js';
import { type Leadership, PgLeader } from './leader.js';
import { ADVISORY_NAMESPACE, pgClientFactory, pgPool } from './pg.js';
import { PgSharedFailures } from './shared-failures.js';
import { PgTrackLocks } from './track-locks.js';

const context = { url: inject('pgUrl'), skipReason: inject('pgSkipReason') };
const database = await createTestDatabase(context, 'cluster');
const url = database?.url ?? '';
const logger = createLogger({ level: 'silent', format: 'json' });
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await database?.drop();
});

/** Ends every session of one replica, as PostgreSQL sees a killed pod. */
async function killSessions(applicationName: string): Promise<number> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: number }>(
      `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
       where application_name = $1 and pid <> pg_backend_pid()`,
      [applicationName],
    );
    return rows[0].n;
  } finally {
    await admin.end();
  }
}

/** Resolves with the next leadership state a replica reports that equals `wanted`. */
function becomes(leader: Leadership, wanted: boolean): Promise<void> {
  return new Promise((resolve) => {
    let off = () => {};
    let done = false;
    off = leader.onChange((now) => {
      if (now !== wanted || done) return;
      done = true;
      queueMicrotask(() => off());
      resolve();
    });
  });
}

async function replicaLeader(name: string): Promise<PgLeader> {
  const leader = new PgLeader({ connect: await pgClientFactory(url, name), logger, retryMs: 100, replica: name });
  closers.push(() => leader.stop());
  return leader;
}

describe.skipIf(!database)('replica coordination on PostgreSQL', () => {
  it('elects one leader; when its connection dies another leads, a stop hands over at once', async () => {
    const a = await replicaLeader('earshot test A');
    const b = await replicaLeader('earshot test B');
    await a.start();
    await b.start();
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);

    const aSteppedDown = becomes(a, false);
    expect(await killSessions('earshot test A')).toBe(1);
    await aSteppedDown;
    // B takes the lock on its next round, unless A, reconnected, got there first: one of them leads.
    await Promise.race([becomes(a, true), becomes(b, true)]);
    expect(a.isLeader !== b.isLeader).toBe(true);

    // A graceful stop hands over at once.
    const [leading, following] = a.isLeader ? [a, b] : [b, a];
    const takesOver = becomes(following, true);
    await leading.stop();
    await takesOver;
    expect(following.isLeader).toBe(true);
    expect(leading.isLeader).toBe(false);
    await following.stop();
  });

  it('hands leadership over when the leading process is killed with SIGKILL', async () => {
    // Another process takes the leader lock with the same key, like a replica would.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const pg = require('pg');
         const c = new pg.Client({ connectionString: process.argv[1] });
         c.connect().then(() => c.query('select pg_advisory_lock($1, 1)', [${ADVISORY_NAMESPACE}]))
           .then(() => process.stdout.write('leading\\n'));
         setInterval(() => {}, 1000);`,
        url,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    closers.push(async () => child.kill('SIGKILL'));
    await once(child.stdout, 'data');
    const b = await replicaLeader('earshot test C');
    await b.start();
    expect(b.isLeader).toBe(false);
    const bLeads = becomes(b, true);
    child.kill('SIGKILL');
    await bLeads;
    expect(b.isLeader).toBe(true);
    await b.stop();
  });

  it('shares sign-in failures: failures on one replica throttle the other, a restart remembers', async () => {
    const clock = new ManualClock(Date.now());
    const replica = async (name: string) => {
      const pool = await pgPool(url, name, 2);
      const failures = new PgSharedFailures(pool, await pgClientFactory(url, name), logger);
      closers.push(
        () => pool.end(),
        () => failures.close(),
      );
      const throttle = new AuthThrottle(clock);
      await throttle.share(failures, logger);
      return { throttle, failures };
    };
    const a = await replica('earshot throttle A');
    const b = await replica('earshot throttle B');
    const guess = { ip: '203.0.113.7', username: 'Bob' };

    for (let i = 0; i < 5; i++) {
      a.throttle.assertAllowed(guess);
      a.throttle.recordFailure(guess);
    }
    expect(() => a.throttle.assertAllowed(guess)).toThrow(TooManyRequests);
    await a.throttle.flush();
    await b.failures.sync();
    // The guesser moves to the other replica: blocked there too, for this account only.
    expect(() => b.throttle.assertAllowed(guess)).toThrow(TooManyRequests);
    expect(() => b.throttle.assertAllowed({ ip: '203.0.113.7', username: 'alice' })).not.toThrow();
    expect(() => b.throttle.assertAllowed({ ip: '198.51.100.1', username: 'bob' })).not.toThrow();

    // A replica started now reads the stored failures back.
    const c = await replica('earshot throttle C');
    expect(() => c.throttle.assertAllowed(guess)).toThrow(TooManyRequests);

    // The window passes everywhere; a success on B clears the pair on A and C as well.
    clock.advance(15 * 60_000 + 1);
    expect(() => a.throttle.assertAllowed(guess)).not.toThrow();
    clock.advance(-(15 * 60_000 + 1));
    b.throttle.recordSuccess(guess);
    await b.throttle.flush();
    await Promise.all([a.failures.sync(), c.failures.sync()]);
    expect(() => a.throttle.assertAllowed(guess)).not.toThrow();
    expect(() => c.throttle.assertAllowed(guess)).not.toThrow();
  });

  it('gives one track lock to one of several concurrent claims; the others wait for it', async () => {
    const replica = async (name: string) => {
      const pool = await pgPool(url, name, 4);
      closers.push(() => pool.end());
      return new PgTrackLocks(pool, await pgClientFactory(url, name));
    };
    const a = await replica('earshot locks A');
    const b = await replica('earshot locks B');
    const claims = await Promise.all([a, b, a, b].map((locks) => locks.tryAcquire('track-1')));
    const leases = claims.filter((l) => l !== null);
    expect(leases).toHaveLength(1);
    // Another track is independent.
    const other = await b.tryAcquire('track-2');
    expect(other).not.toBeNull();
    await other?.release();

    let released = false;
    const waiting = b.waitForRelease('track-1').then(() => released);
    // The waiter is blocked in PostgreSQL, not polling: it is still waiting after a round trip.
    await b.tryAcquire('track-3').then((l) => l?.release());
    released = true;
    await leases[0]?.release();
    expect(await waiting).toBe(true);
    const next = await b.tryAcquire('track-1');
    expect(next).not.toBeNull();

    // A replica that dies mid-download frees the track for the others.
    const freed = a.waitForRelease('track-1');
    expect(await killSessions('earshot locks B')).toBeGreaterThan(0);
    await freed;
    const taken = await a.tryAcquire('track-1');
    expect(taken).not.toBeNull();
    await taken?.release();
    // An abandoned wait ends its connection and rejects with the abort reason.
    const held = await a.tryAcquire('track-4');
    const abort = new AbortController();
    const gaveUp = b.waitForRelease('track-4', abort.signal);
    abort.abort(new Error('listener left'));
    await expect(gaveUp).rejects.toThrow('listener left');
    await held?.release();
  });

  it('createCluster picks the engine: one process on SQLite, shared state on PostgreSQL', async () => {
    const single = await createCluster({ logger });
    expect(single.mode).toBe('single');
    expect(single.leader.isLeader).toBe(true);
    expect(single.failures).toBeNull();
    const lease = await single.trackLocks.tryAcquire('t');
    expect(await single.trackLocks.tryAcquire('t')).toBeNull();
    await lease?.release();

    const shared = await createCluster({ logger, postgresUrl: url, replica: 'pod-1', leaderRetryMs: 100 });
    closers.push(() => shared.close());
    expect(shared.mode).toBe('replicas');
    await shared.leader.start();
    expect(shared.leader.isLeader).toBe(true);
    await shared.close();
    expect(shared.leader.isLeader).toBe(false);
  });
});
