/** Small JSON key/value store over the `settings` table (admin overrides, the setup token hash). */
import type { Db } from '../db/database.js';
import type { Clock } from '../shared/time.js';

export class SettingsRepository {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async get<T>(key: string): Promise<T | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    if (!row) return undefined;
    try {
      return JSON.parse(row.value) as T;
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: unknown): Promise<void> {
    const now = this.clock.now();
    await this.db
      .insertInto('settings')
      .values({ key, value: JSON.stringify(value), updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(value), updated_at: now }))
      .execute();
  }

  /** Deletes the key only while it still holds `expected` (a compare-and-delete claim). */
  async deleteIfUnchanged(key: string, expected: unknown): Promise<boolean> {
    const result = await this.db
      .deleteFrom('settings')
      .where('key', '=', key)
      .where('value', '=', JSON.stringify(expected))
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async delete(key: string): Promise<void> {
    await this.db.deleteFrom('settings').where('key', '=', key).execute();
  }
}
