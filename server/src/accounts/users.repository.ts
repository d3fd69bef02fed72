/** SQL for the `users` table. Lookups by name use the case-folded key with `=` (never LIKE). */
import { type Selectable, sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { UsersTable } from '../db/schema.js';
import type { Role } from './auth-context.js';

export type UserRow = Selectable<UsersTable>;

export class UsersRepository {
  constructor(private readonly db: Db) {}

  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByKey(key: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('username_key', '=', key).executeTakeFirst();
  }

  list(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('username_key').execute();
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countAdmins(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', 'admin')
      .where('disabled', '=', 0)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(row: {
    id: string;
    username: string;
    usernameKey: string;
    /** null: an SSO-only account (signs in through its linked identities, never with a password). */
    passwordHash: string | null;
    role: Role;
    now: number;
    email?: string | null;
    displayName?: string | null;
  }): Promise<void> {
    await this.db
      .insertInto('users')
      .values({
        id: row.id,
        username: row.username,
        username_key: row.usernameKey,
        password_hash: row.passwordHash,
        role: row.role,
        email: row.email ?? null,
        display_name: row.displayName ?? null,
        created_at: row.now,
        updated_at: row.now,
      })
      .execute();
  }

  async setPassword(id: string, passwordHash: string, now: number): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  async setRole(id: string, role: Role, now: number): Promise<void> {
    await this.db.updateTable('users').set({ role, updated_at: now }).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('users').where('id', '=', id).execute();
  }

  /**
   * Changes the role unless that would leave no enabled administrator; false when it would.
   * One statement, so two admins demoting each other at once cannot both succeed.
   */
  async setRoleKeepingAnAdmin(userId: string, role: Role, now: number): Promise<boolean> {
    const result = await sql`
      update users set role = ${role}, updated_at = ${now}
      where id = ${userId}
        and (${role} = 'admin' or (select count(*) from users where role = 'admin' and disabled = 0 and id != ${userId}) > 0)
    `.execute(this.db);
    return Number(result.numAffectedRows ?? 0) > 0;
  }

  /** Deletes the user unless it is the last enabled administrator; false when it is. */
  async deleteKeepingAnAdmin(userId: string): Promise<boolean> {
    const result = await sql`
      delete from users
      where id = ${userId}
        and (role != 'admin' or (select count(*) from users where role = 'admin' and disabled = 0 and id != ${userId}) > 0)
    `.execute(this.db);
    return Number(result.numAffectedRows ?? 0) > 0;
  }
}
