/**
 * Sessions across replicas on PostgreSQL: two SessionStores on two connection pools (two
 * replicas), one database. A sign-in on A works on B; a sign-out on A is refused on B at once (no
 * per-process cache on PostgreSQL); API families extend on either. The schema is the real one
 * (`migrateToLatest` on the run's throwaway cluster); each replica opens its own pool through
 * `connectDatabase`, as `earshot serve` does.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Db } from '../db/database.js';
import { type AnyDatabase, connectDatabase } from '../db/engine.js';
import { migrateToLatest } from '../db/migrate.js';
import { ManualClock } from '../test/accounts.js';
import { createTestDatabase } from '../test/postgres.js';
import { SessionStore } from './session-store.js';

const context = { url: inject('pgUrl'), skipReason: inject('pgSkipReason') };
const database = await createTestDatabase(context, 'sessions');
const replicas: AnyDatabase[] = [];
afterAll(async () => {
  for (const replica of replicas) await replica.close();
  await database?.drop();
});

async function replicaDb(): Promise<Db> {
  const replica = await connectDatabase({ url: database?.url, path: '' });
  replicas.push(replica);
  return replica.db;
}

describe.skipIf(!database)('sessions shared by replicas on PostgreSQL', () => {
  it('a session made on A works on B; revoking it on A refuses it on B at once', async () => {
    const setup = await replicaDb();
    await migrateToLatest(setup);
    const clock = new ManualClock();
    await setup
      .insertInto('users')
      .values({
        id: 'u1',
        username: 'alice',
        username_key: 'alice',
        password_hash: null,
        role: 'user',
        email: null,
        display_name: null,
        created_at: clock.now(),
        updated_at: clock.now(),
      })
      .execute();

    // No SQLite connection: no lookup cache, as on a PostgreSQL deployment.
    const a = new SessionStore(await replicaDb(), clock);
    const b = new SessionStore(await replicaDb(), clock);
    const web = await a.create('u1', { userAgent: 'test' });
    expect(await b.resolve(web.cookieValue)).toMatchObject({ userId: 'u1', username: 'alice', role: 'user' });
    expect(await a.resolve(web.cookieValue)).toMatchObject({ sessionId: web.id });

    expect(await a.revoke(web.id)).toBe(true);
    expect(await b.resolve(web.cookieValue)).toBeNull();

    // "Sign out everywhere" on B ends A's API family too; extend() runs on PostgreSQL (no max()).
    const api = await a.create('u1', { kind: 'api' });
    await b.extend(api.id, api.expiresAt + 60_000);
    await b.extend(api.id, api.expiresAt - 60_000); // never shortens
    expect(await a.expiryOf(api.id)).toBe(api.expiresAt + 60_000);
    expect(await a.resolveById(api.id, 'api')).not.toBeNull();
    expect(await b.revokeAllForUser('u1')).toBe(1);
    expect(await a.resolveById(api.id, 'api')).toBeNull();

    // Disabling the user on one replica refuses their live sessions on the other.
    const again = await b.create('u1');
    expect(await a.resolve(again.cookieValue)).not.toBeNull();
    await setup.updateTable('users').set({ disabled: 1 }).where('id', '=', 'u1').execute();
    expect(await a.resolve(again.cookieValue)).toBeNull();
  });
});
