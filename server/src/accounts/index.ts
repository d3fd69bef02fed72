/**
 * Builds the accounts services (called once by the composition root, before any route exists,
 * because the request authenticator needs the token verifier).
 */
import type SQLite from 'better-sqlite3';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { AuthService } from './auth.service.js';
import { RequestAuthenticator } from './authenticator.js';
import { type HashParameters, OWASP_ARGON2ID, PasswordHasher } from './passwords.js';
import { RegistrationService } from './registration.service.js';
import { SessionStore } from './session-store.js';
import { SettingsRepository } from './settings.repository.js';
import { AuthThrottle, type AuthThrottleOptions, DEFAULT_AUTH_THROTTLE } from './throttle.js';
import { TokenService } from './tokens.service.js';
import { UiPreferencesService } from './ui-preferences.js';
import { UsersService } from './users.service.js';

export interface Accounts {
  sessions: SessionStore;
  authenticator: RequestAuthenticator;
  hasher: PasswordHasher;
  users: UsersService;
  tokens: TokenService;
  registration: RegistrationService;
  /** Reusable failed-authentication limiter (web login, /auth/token, /rest). */
  throttle: AuthThrottle;
  auth: AuthService;
  settings: SettingsRepository;
  /** Per-user web app preferences (theme). */
  uiPreferences: UiPreferencesService;
}

export interface AccountsOptions {
  db: Db;
  /** The connection behind `db` (session lookups are cached between writes with it). */
  sqlite?: SQLite.Database;
  clock: Clock;
  logger: Logger;
  config: Pick<Config, 'registration'>;
  serverKey: Buffer;
  hashParameters?: HashParameters;
  throttle?: AuthThrottleOptions;
}

export function createAccounts(options: AccountsOptions): Accounts {
  const { db, clock, logger } = options;
  const sessions = new SessionStore(db, clock, options.sqlite);
  const settings = new SettingsRepository(db, clock);
  const hasher = new PasswordHasher(options.hashParameters ?? OWASP_ARGON2ID, 2);
  const users = new UsersService(db, hasher, sessions, clock, logger);
  const tokens = new TokenService(db, sessions, clock, logger, options.serverKey);
  const authenticator = new RequestAuthenticator(sessions, tokens);
  const registration = new RegistrationService(db, settings, users, clock, logger, options.config.registration);
  const throttle = new AuthThrottle(clock, options.throttle ?? DEFAULT_AUTH_THROTTLE);
  const auth = new AuthService(users, sessions, tokens, registration, throttle, logger);
  const uiPreferences = new UiPreferencesService(db, clock);
  return { sessions, authenticator, hasher, users, tokens, registration, throttle, auth, settings, uiPreferences };
}

/** Where the first-run link points: the public URL, else the bind address (wildcards shown as localhost). */
export function setupLink(config: Pick<Config, 'publicUrl' | 'host' | 'port'>, token: string): string {
  const host =
    config.host === '0.0.0.0' || config.host === '::'
      ? 'localhost'
      : config.host.includes(':')
        ? `[${config.host}]`
        : config.host;
  const base = (config.publicUrl ?? `http://${host}:${config.port}`).replace(/\/+$/, '');
  return `${base}/setup?token=${encodeURIComponent(token)}`;
}
