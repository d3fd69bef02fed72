/**
 * 0004 — streaming area: per-user streaming quality preferences and public share links.
 *
 * Shares keep no secret: the public token is `<share id>.<HMAC(server key, id)>`, recomputed on
 * demand, so the owner can copy the link again later and a leaked database alone mints no links.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('stream_preferences')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('default_format', 'text', (c) =>
      c.notNull().defaultTo('opus').check(sql`default_format in ('raw', 'opus', 'mp3', 'aac')`),
    )
    .addColumn('default_max_bitrate', 'integer', (c) => c.notNull().defaultTo(128)) // kbps
    .addColumn('lan_original', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('estimate_content_length', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('shares')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('track', 'album', 'playlist')`))
    .addColumn('item_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'integer') // null: never expires
    .addColumn('revoked_at', 'integer')
    .addColumn('view_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_viewed_at', 'integer')
    .execute();
  await db.schema.createIndex('shares_owner').on('shares').columns(['owner_id', 'created_at']).execute();
}
