/**
 * 0020 — who runs a job, and until when. On PostgreSQL several replicas run one queue; a replica
 * starting up must not requeue jobs another live replica is running. A claim records the
 * claiming process (`claimed_by`, a random id per process) and a lease (`lease_until`, ms) that
 * the runner renews while the job runs; only jobs whose lease ran out are requeued. Rows claimed
 * before this migration have neither: they count as expired.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // One column per statement: SQLite's ALTER TABLE adds one at a time.
  await db.schema.alterTable('jobs').addColumn('claimed_by', 'text').execute();
  await db.schema.alterTable('jobs').addColumn('lease_until', 'integer').execute();
}
