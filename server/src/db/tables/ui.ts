/** Tables added by the web app's own migration (keep in step with db/migrations/0015_ui_preferences.ts). */
import type { Generated } from 'kysely';

export type ThemePreference = 'system' | 'light' | 'dark';

export interface UiPreferencesTable {
  user_id: string;
  theme: Generated<ThemePreference>;
  updated_at: number;
}

export interface UiTables {
  ui_preferences: UiPreferencesTable;
}
