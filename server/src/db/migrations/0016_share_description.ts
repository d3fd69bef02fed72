/**
 * 0016 — a description on share links (Subsonic `createShare` / `updateShare` send one; the
 * link's page keeps showing the shared item's title). Null when none was given.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('shares').addColumn('description', 'text').execute();
}
