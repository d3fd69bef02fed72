/** SQL for per-user web app preferences (`ui_preferences`). */
import type { Db } from '../db/database.js';
import type { ThemePreference } from '../db/tables/ui.js';

export class UiPreferencesRepository {
  constructor(private readonly db: Db) {}

  async theme(userId: string): Promise<ThemePreference | undefined> {
    const row = await this.db
      .selectFrom('ui_preferences')
      .select('theme')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.theme;
  }

  async saveTheme(userId: string, theme: ThemePreference, now: number): Promise<void> {
    await this.db
      .insertInto('ui_preferences')
      .values({ user_id: userId, theme, updated_at: now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ theme, updated_at: now }))
      .execute();
  }
}
