/**
 * 0015 — web app preferences per user (the colour theme: light, dark or following the system),
 * so a person's choice follows them to every browser they sign in on.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ui_preferences')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('theme', 'text', (c) => c.notNull().defaultTo('system').check(sql`theme in ('system', 'light', 'dark')`))
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();
}
