/**
 * 0010 — Subsonic access: per-user API keys (OpenSubsonic `apiKey`) and app passwords (legacy
 * `p` / `t`+`s`), plus the play queue and bookmarks the Subsonic API syncs between devices.
 *
 * API keys are stored as a SHA-256 hash (the key itself is shown once). App passwords must be
 * recoverable to check `t = md5(password + salt)`, so they are stored AES-256-GCM encrypted with a
 * key derived from the server key — a copied database alone reveals none of them. Ratings use the
 * existing `user_activity.rating` column.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('hint', 'text', (c) => c.notNull())
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('last_used_at', 'integer')
    .addColumn('revoked_at', 'integer')
    .execute();
  await db.schema.createIndex('api_keys_user').on('api_keys').columns(['user_id', 'created_at']).execute();

  await db.schema
    .createTable('app_passwords')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('secret_enc', 'text', (c) => c.notNull())
    .addColumn('hint', 'text', (c) => c.notNull())
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('last_used_at', 'integer')
    .addColumn('revoked_at', 'integer')
    .execute();
  await db.schema.createIndex('app_passwords_user').on('app_passwords').columns(['user_id', 'created_at']).execute();

  await db.schema
    .createTable('play_queues')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('track_ids', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('current_index', 'integer')
    .addColumn('position_ms', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('changed_at', 'integer', (c) => c.notNull())
    .addColumn('changed_by', 'text', (c) => c.notNull().defaultTo(''))
    .execute();

  await db.schema
    .createTable('bookmarks')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('track_id', 'text', (c) => c.notNull().references('tracks.id').onDelete('cascade'))
    .addColumn('position_ms', 'integer', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('changed_at', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('bookmarks_pk', ['user_id', 'track_id'])
    .execute();
}
