/**
 * A user's web app preferences (today: the colour theme). Stored per user so the choice follows
 * them to every browser; a missing row means the defaults.
 */
import type { ThemePreference } from '../db/tables/ui.js';
import type { Clock } from '../shared/time.js';
import type { UiPreferencesRepository } from './ui-preferences.repository.js';
import type { UiPreferences } from './accounts.schemas.js';

export const DEFAULT_UI_PREFERENCES: UiPreferences = { theme: 'system' };

/**
 * Readable (not httpOnly) cookie mirroring the theme: pages the server renders without the app
 * (the public share page) follow it, and the app applies it before its first paint.
 */
export const THEME_COOKIE = 'earshot_theme';

export class UiPreferencesService {
  constructor(
    private readonly repo: UiPreferencesRepository,
    private readonly clock: Clock,
  ) {}

  async get(userId: string): Promise<UiPreferences> {
    const theme = await this.repo.theme(userId);
    return theme ? { theme } : { ...DEFAULT_UI_PREFERENCES };
  }

  async update(userId: string, changes: Partial<UiPreferences>): Promise<UiPreferences> {
    const next = { ...(await this.get(userId)), ...changes };
    await this.repo.saveTheme(userId, next.theme, this.clock.now());
    return next;
  }
}

export function isTheme(value: unknown): value is ThemePreference {
  return value === 'system' || value === 'light' || value === 'dark';
}
