/** SQL for `identities` (external sign-ins linked to users, keyed by issuer + subject). */
import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { IdentitiesTable } from '../db/tables/identity.js';
import type { UserRow } from './users.repository.js';

export type IdentityRow = Selectable<IdentitiesTable>;

export class IdentitiesRepository {
  constructor(private readonly db: Db) {}

  findBySubject(issuer: string, subject: string): Promise<IdentityRow | undefined> {
    return this.db
      .selectFrom('identities')
      .selectAll()
      .where('issuer', '=', issuer)
      .where('subject', '=', subject)
      .executeTakeFirst();
  }

  listForUser(userId: string): Promise<IdentityRow[]> {
    return this.db.selectFrom('identities').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
  }

  /** The user's identity at one issuer (an account links at most one subject per issuer). */
  findForUserAtIssuer(userId: string, issuer: string): Promise<IdentityRow | undefined> {
    return this.db
      .selectFrom('identities')
      .selectAll()
      .where('user_id', '=', userId)
      .where('issuer', '=', issuer)
      .executeTakeFirst();
  }

  async insert(row: IdentityRow): Promise<void> {
    await this.db.insertInto('identities').values(row).execute();
  }

  async touch(id: string, email: string | null, now: number): Promise<void> {
    await this.db.updateTable('identities').set({ email, last_used_at: now }).where('id', '=', id).execute();
  }

  async deleteOwned(userId: string, id: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('identities')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async countForUser(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('identities')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Users whose stored email matches (case-insensitive); more than one means it is ambiguous. */
  findUsersByEmail(email: string): Promise<UserRow[]> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
      .limit(2)
      .execute();
  }

  async setUserEmail(userId: string, email: string, now: number): Promise<void> {
    await this.db.updateTable('users').set({ email, updated_at: now }).where('id', '=', userId).execute();
  }

  async setDisplayName(userId: string, name: string, now: number): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ display_name: name.slice(0, 200), updated_at: now })
      .where('id', '=', userId)
      .execute();
  }
}
