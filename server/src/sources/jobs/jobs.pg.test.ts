/**
 * The job queue claimed by two replicas at once on PostgreSQL (FOR UPDATE SKIP LOCKED): every job
 * is claimed exactly once. The `jobs` table is created here with db/schema.ts's columns until the
 * shared migrations run on PostgreSQL (helper "pg"'s engine); the claim statements are the
 * repository's own.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Db } from '../../db/database.js';
import { createTestDatabase } from '../../test/postgres.js';
import { JobsRepository } from './jobs.repository.js';

const context = { url: inject('pgUrl'), skipReason: inject('pgSkipReason') };
const database = await createTestDatabase(context, 'jobs');
const dbs: Db[] = [];
afterAll(async () => {
  for (const db of dbs) await db.destroy();
  await database?.drop();
});

function replicaDb(): Db {
  pg.types.setTypeParser(20, (v) => Number(v)); // bigint millisecond times fit a JS number
  const db = new Kysely({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database?.url, max: 4 }) }),
  }) as Db;
  dbs.push(db);
  return db;
}

describe.skipIf(!database)('job queue shared by replicas on PostgreSQL', () => {
  it('two replicas claiming concurrently get every job exactly once', async () => {
    const setup = replicaDb();
    await setup.schema
      .createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('dedupe_key', 'text')
      .addColumn('payload', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('state', 'text', (c) => c.notNull().defaultTo('queued'))
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (c) => c.notNull().defaultTo(5))
      .addColumn('run_after', 'bigint', (c) => c.notNull())
      .addColumn('progress', 'real', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('owner_id', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    const now = Date.now();
    const ids = Array.from({ length: 30 }, (_, i) => `job-${String(i).padStart(2, '0')}`);
    await setup
      .insertInto('jobs')
      .values(
        ids.map((id, i) => ({
          id,
          type: 'cache',
          dedupe_key: id,
          run_after: now,
          created_at: now + i,
          updated_at: now,
        })),
      )
      .execute();

    const a = new JobsRepository(replicaDb());
    const b = new JobsRepository(replicaDb());
    const claimed: string[] = [];
    // Four workers per replica drain the queue at the same time.
    const worker = async (repo: JobsRepository) => {
      for (;;) {
        const job = await repo.claimNext(['cache'], now);
        if (!job) {
          const left = await setup.selectFrom('jobs').select('id').where('state', '=', 'queued').execute();
          if (left.length === 0) return;
          continue; // skipped rows another worker was claiming: look again
        }
        expect(job.state).toBe('running');
        expect(job.attempts).toBe(1);
        claimed.push(job.id);
      }
    };
    await Promise.all([a, b, a, b, a, b, a, b].map(worker));
    expect(claimed.sort()).toEqual(ids);
    const rows = await setup.selectFrom('jobs').select(['state', 'attempts']).execute();
    expect(rows.every((r) => r.state === 'running' && r.attempts === 1)).toBe(true);
  });
});
