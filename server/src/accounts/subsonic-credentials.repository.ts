/** SQL for Subsonic API keys and app passwords (migration 0010). */
import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { ApiKeysTable, AppPasswordsTable } from '../db/tables/subsonic.js';
import type { UserRow } from './users.repository.js';

export type ApiKeyRow = Selectable<ApiKeysTable>;
export type AppPasswordRow = Selectable<AppPasswordsTable>;
export type CredentialTable = 'api_keys' | 'app_passwords';

export class SubsonicCredentialsRepository {
  constructor(private readonly db: Db) {}

  async insertApiKey(row: ApiKeyRow): Promise<void> {
    await this.db.insertInto('api_keys').values(row).execute();
  }

  async insertAppPassword(row: AppPasswordRow): Promise<void> {
    await this.db.insertInto('app_passwords').values(row).execute();
  }

  listApiKeys(userId: string): Promise<ApiKeyRow[]> {
    return this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .orderBy('created_at', 'desc')
      .execute();
  }

  listAppPasswords(userId: string): Promise<AppPasswordRow[]> {
    return this.db
      .selectFrom('app_passwords')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .orderBy('created_at', 'desc')
      .execute();
  }

  /** The key's row with its (enabled or not) owner, revoked or not. */
  async apiKeyByHash(hash: string): Promise<{ key: ApiKeyRow; user: UserRow } | undefined> {
    const key = await this.db.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst();
    if (!key) return undefined;
    const user = await this.db.selectFrom('users').selectAll().where('id', '=', key.user_id).executeTakeFirst();
    return user ? { key, user } : undefined;
  }

  async revoke(table: CredentialTable, userId: string, id: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable(table)
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async touch(table: CredentialTable, id: string, now: number): Promise<void> {
    await this.db.updateTable(table).set({ last_used_at: now }).where('id', '=', id).execute();
  }
}
