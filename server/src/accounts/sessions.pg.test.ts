/**
 * Sessions across replicas on PostgreSQL: two SessionStores on two connection pools (two
 * replicas), one database. A sign-in on A works on B; a sign-out on A is refused on B at once (no
 * per-process cache on PostgreSQL); API families extend on either. The two tables are created
 * here with the columns of db/schema.ts until the shared migrations run on PostgreSQL (helper
 * "pg"'s engine); the statements under test are SessionStore's own.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Db } from '../db/database.js';
import { ManualClock } from '../test/accounts.js';
import { createTestDatabase } from '../test/postgres.js';
import { SessionStore } from './session-store.js';

const context = { url: inject('pgUrl'), skipReason: inject('pgSkipReason') };
const database = await createTestDatabase(context, 'sessions');
const dbs: Db[] = [];
afterAll(async () => {
  for (const db of dbs) await db.destroy();
  await database?.drop();
});

function replicaDb(): Db {
  // int8 (bigint) columns hold millisecond times; they fit a JS number.
  pg.types.setTypeParser(20, (v) => Number(v));
  const db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database?.url }) }) });
  dbs.push(db as Db);
  return db as Db;
}

describe.skipIf(!database)('sessions shared by replicas on PostgreSQL', () => {
  it('a session made on A works on B; revoking it on A refuses it on B at once', async () => {
    const setup = replicaDb();
    await setup.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('username', 'text', (c) => c.notNull())
      .addColumn('username_key', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text')
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('email', 'text')
      .addColumn('display_name', 'text')
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await setup.schema
      .createTable('sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('kind', 'text', (c) => c.notNull().defaultTo('web'))
      .addColumn('user_agent', 'text')
      .addColumn('ip', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
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
    const a = new SessionStore(replicaDb(), clock);
    const b = new SessionStore(replicaDb(), clock);
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
