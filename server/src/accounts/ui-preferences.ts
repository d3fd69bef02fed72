/**
 * A user's web app preferences (today: the colour theme). Stored per user so the choice follows
 * them to every browser; a missing row means the defaults.
 */
import type { Db } from '../db/database.js';
import type { ThemePreference } from '../db/tables/ui.js';
import type { Clock } from '../shared/time.js';
import type { UiPreferences } from './accounts.schemas.js';

export const DEFAULT_UI_PREFERENCES: UiPreferences = { theme: 'system' };

/**
 * Readable (not httpOnly) cookie mirroring the theme: pages the server renders without the app
 * (the public share page) follow it, and the app applies it before its first paint.
 */
export const THEME_COOKIE = 'earshot_theme';

export class UiPreferencesService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async get(userId: string): Promise<UiPreferences> {
    const row = await this.db
      .selectFrom('ui_preferences')
      .select('theme')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row ? { theme: row.theme } : { ...DEFAULT_UI_PREFERENCES };
  }

  async update(userId: string, changes: Partial<UiPreferences>): Promise<UiPreferences> {
    const next = { ...(await this.get(userId)), ...changes };
    const now = this.clock.now();
    await this.db
      .insertInto('ui_preferences')
      .values({ user_id: userId, theme: next.theme, updated_at: now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ theme: next.theme, updated_at: now }))
      .execute();
    return next;
  }
}

export function isTheme(value: unknown): value is ThemePreference {
  return value === 'system' || value === 'light' || value === 'dark';
}
