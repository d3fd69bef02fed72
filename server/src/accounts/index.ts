/**
 * Builds the accounts area: services and the routes plugin (called once by the composition root,
 * before the HTTP app exists, because the request authenticator needs the token verifier; the
 * `earshot user` command builds it the same way).
 */
import type { FastifyPluginAsync } from 'fastify';
import type SQLite from 'better-sqlite3';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { accessScope } from '../http/access.js';
import { adminRoutes } from './admin.routes.js';
import { authRoutes } from './auth.routes.js';
import { meRoutes } from './me.routes.js';
import { AuthService } from './auth.service.js';
import { RequestAuthenticator } from './authenticator.js';
import { CfAccessVerifier, cfAccessStrategy } from './cf-access.js';
import { TrustedProxies } from './client-ip.js';
import { IdentitiesRepository } from './identities.repository.js';
import { IdentityService } from './identity.service.js';
import { InvitesRepository } from './invites.repository.js';
import { RefreshTokensRepository } from './refresh-tokens.repository.js';
import { UsersRepository } from './users.repository.js';
import { OidcProvider, oidcProvidersFrom } from './oidc.providers.js';
import { OidcService } from './oidc.service.js';
import { proxyAuthStrategy } from './proxy-auth.js';
import { type HashParameters, OWASP_ARGON2ID, PasswordHasher } from './passwords.js';
import { RegistrationService } from './registration.service.js';
import { SessionStore } from './session-store.js';
import { SettingsRepository } from './settings.repository.js';
import { SubsonicCredentialsRepository } from './subsonic-credentials.repository.js';
import { SubsonicCredentialsService } from './subsonic-credentials.service.js';
import { AuthThrottle, type AuthThrottleOptions, DEFAULT_AUTH_THROTTLE } from './throttle.js';
import { TokenService } from './tokens.service.js';
import { UiPreferencesService } from './ui-preferences.js';
import { UiPreferencesRepository } from './ui-preferences.repository.js';
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
  /** External identities: OIDC/Google, Cloudflare Access, forward-auth. */
  identities: IdentityService;
  oidc: OidcService;
  /** Set when EARSHOT_CF_ACCESS_TEAM_DOMAIN is configured. */
  cfAccess: CfAccessVerifier | null;
  /** API keys and app passwords for Subsonic apps. */
  subsonic: SubsonicCredentialsService;
  /** Per-user web app preferences (theme). */
  uiPreferences: UiPreferencesService;
  /**
   * Sign-in, registration, OIDC (public per route), the caller's own account (users) and account
   * administration (admins).
   */
  routes: FastifyPluginAsync;
}

/** The settings the accounts area reads. */
export type AccountsConfig = Pick<
  Config,
  | 'registration'
  | 'publicUrl'
  | 'trustedProxies'
  | 'sessionDays'
  | 'sessionIdleHours'
  | 'adminEmails'
  | 'adminUsers'
  | 'authProxyHeader'
  | 'authProxyEmailHeader'
  | 'authProxyNameHeader'
  | 'authProxyGroupsHeader'
  | 'cfAccessTeamDomain'
  | 'cfAccessAud'
  | 'oidcIssuer'
  | 'oidcClientId'
  | 'oidcClientSecret'
  | 'oidcName'
  | 'oidcScopes'
  | 'oidcAllowInsecure'
  | 'oidcAllowedEmails'
  | 'oidcAdminGroups'
  | 'oidcGroupsClaim'
  | 'googleClientId'
  | 'googleClientSecret'
>;

export interface AccountsOptions {
  db: Db;
  /** The connection behind `db` (session lookups are cached between writes with it). */
  sqlite?: SQLite.Database;
  clock: Clock;
  logger: Logger;
  config: AccountsConfig;
  serverKey: Buffer;

  hashParameters?: HashParameters;
  throttle?: AuthThrottleOptions;
}

export function createAccounts(options: AccountsOptions): Accounts {
  const { db, clock, logger } = options;
  const { config } = options;
  const sessions = new SessionStore(db, clock, options.sqlite, {
    ttlMs: config.sessionDays * 24 * 3600_000,
    idleMs: config.sessionIdleHours * 3600_000,
  });
  const settings = new SettingsRepository(db, clock);
  const hasher = new PasswordHasher(options.hashParameters ?? OWASP_ARGON2ID, 2);
  const usersRepo = new UsersRepository(db);
  const users = new UsersService(usersRepo, hasher, sessions, clock, logger);
  const tokens = new TokenService(new RefreshTokensRepository(db), sessions, clock, logger, options.serverKey);
  const authenticator = new RequestAuthenticator(sessions, tokens);
  const registration = new RegistrationService(
    new InvitesRepository(db),
    settings,
    users,
    clock,
    logger,
    config.registration,
  );
  const throttle = new AuthThrottle(clock, options.throttle ?? DEFAULT_AUTH_THROTTLE);
  const identities = new IdentityService(new IdentitiesRepository(db), users, registration, clock, logger, {
    adminEmails: config.adminEmails,
    adminUsers: config.adminUsers,
    adminGroups: config.oidcAdminGroups,
    allowedEmails: config.oidcAllowedEmails,
  });
  const auth = new AuthService(users, sessions, tokens, registration, throttle, logger, identities);
  const oidc = new OidcService(
    oidcProvidersFrom(config).map((spec) => new OidcProvider(spec)),
    identities,
    clock,
    logger,
  );

  // Identity headers count only from trusted proxies; with none configured they are never read.
  const trusted = new TrustedProxies(config.trustedProxies);
  let cfAccess: CfAccessVerifier | null = null;
  if (config.cfAccessTeamDomain) {
    cfAccess = new CfAccessVerifier({
      teamDomain: config.cfAccessTeamDomain,
      audiences: config.cfAccessAud,
    });
    authenticator.use(cfAccessStrategy({ verifier: cfAccess, trusted, identities, logger }));
  }
  if (config.authProxyHeader) {
    const headers = {
      user: config.authProxyHeader,
      email: config.authProxyEmailHeader,
      name: config.authProxyNameHeader,
      groups: config.authProxyGroupsHeader,
    };
    authenticator.use(proxyAuthStrategy({ headers, trusted, identities, logger }));
  }
  if ((config.cfAccessTeamDomain || config.authProxyHeader) && trusted.size === 0) {
    logger.warn(
      { area: 'accounts' },
      'Identity headers are configured but EARSHOT_TRUSTED_PROXIES is empty: they will be ignored.',
    );
  }
  const subsonic = new SubsonicCredentialsService(
    new SubsonicCredentialsRepository(db),
    usersRepo,
    clock,
    options.serverKey,
  );
  const uiPreferences = new UiPreferencesService(new UiPreferencesRepository(db), clock);
  const publicUrl = config.publicUrl;
  // Cookies are marked Secure when the server is reached over HTTPS.
  const secureCookies = publicUrl?.startsWith('https://') ?? false;
  const accounts: Accounts = {
    sessions,
    authenticator,
    hasher,
    users,
    tokens,
    registration,
    throttle,
    auth,
    settings,
    identities,
    oidc,
    cfAccess,
    subsonic,
    uiPreferences,
    routes: async (app) => {
      await app.register(accessScope('public', authRoutes), { accounts, secureCookies, publicUrl });
      await app.register(accessScope('user', meRoutes), { accounts, secureCookies });
      await app.register(accessScope('admin', adminRoutes), { accounts, publicUrl });
    },
  };
  return accounts;
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
