/**
 * 0005 — remote sources. Remote tracks live in `tracks` (0001: source_type, remote_id, is_cached …)
 * and caching work in `jobs`; this migration only adds the per-user permission to play arbitrary
 * URLs (admins always may) in its own table, so the accounts area's `users` table stays theirs.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('source_permissions')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('can_play_urls', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();
  // The cache admin view and start-up recovery look up cached remote rows by source.
  await db.schema.createIndex('tracks_cached_source').on('tracks').columns(['is_cached', 'source_type']).execute();
  await db.schema.createIndex('jobs_type_key').on('jobs').columns(['type', 'dedupe_key']).execute();
}
