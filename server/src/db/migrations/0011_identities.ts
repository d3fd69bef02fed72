/**
 * 0011 — external identities: a user signed in through OIDC/Google, Cloudflare Access
 * or a trusted forward-auth proxy is known by (`issuer`, `subject`), never by email alone. One
 * user may have several identities (Google and the family's Authentik); an (issuer, subject) pair
 * belongs to one user only. `users.email` (from 0001) keeps the last verified email for linking.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('identities')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // 'oidc:<provider id>', 'cf-access' or 'proxy': shown in Settings, not used for matching.
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('last_used_at', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('identities_issuer_subject')
    .on('identities')
    .columns(['issuer', 'subject'])
    .unique()
    .execute();
  await db.schema.createIndex('identities_user').on('identities').column('user_id').execute();
  // Linking by email looks users up by their case-folded address.
  await sql`create index users_email on users (lower(email))`.execute(db);
}
