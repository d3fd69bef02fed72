/**
 * Identity settings: sessions, single sign-on (OIDC, Google), Cloudflare Access and trusted
 * forward-auth headers — their schema and their env/flag/default/description. Spread into
 * ConfigSchema and SETTINGS (config/schema.ts) at this place, so the order of `earshot config`
 * and of the README table is unchanged; kept apart only so neither file grows past a reader.
 */
import { Type } from '@sinclair/typebox';
import type { SettingSpec } from './schema.js';

const NonEmpty = Type.String({ minLength: 1 });
const Bool = Type.Boolean();
const HeaderName = Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" });

export const IdentityConfig = {
  sessionDays: Type.Integer({ minimum: 1, maximum: 400 }),
  sessionIdleHours: Type.Integer({ minimum: 0, maximum: 24 * 400 }),
  adminEmails: Type.Array(NonEmpty),
  adminUsers: Type.Array(NonEmpty),
  authProxyHeader: Type.Optional(HeaderName),
  authProxyEmailHeader: HeaderName,
  authProxyNameHeader: HeaderName,
  authProxyGroupsHeader: HeaderName,
  cfAccessTeamDomain: Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+/?$' })),
  cfAccessAud: Type.Array(NonEmpty),
  oidcIssuer: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  oidcClientId: Type.Optional(NonEmpty),
  oidcClientSecret: Type.Optional(NonEmpty),
  oidcName: NonEmpty,
  oidcScopes: NonEmpty,
  oidcAllowInsecure: Bool,
  oidcAllowedEmails: Type.Array(NonEmpty),
  oidcAdminGroups: Type.Array(NonEmpty),
  oidcGroupsClaim: NonEmpty,
  googleClientId: Type.Optional(NonEmpty),
  googleClientSecret: Type.Optional(NonEmpty),
};

export const IDENTITY_SETTINGS: SettingSpec[] = [
  {
    key: 'sessionDays',
    env: 'EARSHOT_SESSION_DAYS',
    flag: '--session-days',
    default: '30',
    description:
      'Lifetime of a web sign-in in days; a session used in the second half of its life gets a fresh lifetime.',
  },
  {
    key: 'sessionIdleHours',
    env: 'EARSHOT_SESSION_IDLE_HOURS',
    flag: '--session-idle-hours',
    default: '336',
    description: 'A web sign-in not used for this many hours ends (336 = 14 days); 0 disables the idle timeout.',
  },
  {
    key: 'adminEmails',
    env: 'EARSHOT_ADMIN_EMAILS',
    flag: '--admin-emails',
    default: '',
    list: true,
    description:
      'Comma-separated emails made administrators when they sign in through SSO, Cloudflare Access or the proxy (verified emails only).',
  },
  {
    key: 'adminUsers',
    env: 'EARSHOT_ADMIN_USERS',
    flag: '--admin-users',
    default: '',
    list: true,
    description: 'Comma-separated usernames made administrators when they sign in (any way).',
  },
  {
    key: 'authProxyHeader',
    env: 'EARSHOT_AUTH_PROXY_HEADER',
    flag: '--auth-proxy-header',
    description:
      'Forward-auth user header set by a trusted proxy (e.g. Remote-User for Authelia/Authentik, Tailscale-User-Login for tailscale serve). Read only from EARSHOT_TRUSTED_PROXIES peers. Unset: off.',
  },
  {
    key: 'authProxyEmailHeader',
    env: 'EARSHOT_AUTH_PROXY_EMAIL_HEADER',
    flag: '--auth-proxy-email-header',
    default: 'Remote-Email',
    description: 'Forward-auth email header (used with EARSHOT_AUTH_PROXY_HEADER).',
  },
  {
    key: 'authProxyNameHeader',
    env: 'EARSHOT_AUTH_PROXY_NAME_HEADER',
    flag: '--auth-proxy-name-header',
    default: 'Remote-Name',
    description: 'Forward-auth display-name header (used with EARSHOT_AUTH_PROXY_HEADER).',
  },
  {
    key: 'authProxyGroupsHeader',
    env: 'EARSHOT_AUTH_PROXY_GROUPS_HEADER',
    flag: '--auth-proxy-groups-header',
    default: 'Remote-Groups',
    description: 'Forward-auth groups header, comma-separated (mapped to roles by EARSHOT_OIDC_ADMIN_GROUPS).',
  },
  {
    key: 'cfAccessTeamDomain',
    env: 'EARSHOT_CF_ACCESS_TEAM_DOMAIN',
    flag: '--cf-access-team-domain',
    description:
      'Cloudflare Access team URL (e.g. https://family.cloudflareaccess.com): verify Cf-Access-Jwt-Assertion and sign its user in. Needs EARSHOT_CF_ACCESS_AUD.',
  },
  {
    key: 'cfAccessAud',
    env: 'EARSHOT_CF_ACCESS_AUD',
    flag: '--cf-access-aud',
    default: '',
    list: true,
    description: 'Application Audience (AUD) tag(s) of the Access application, comma-separated.',
  },
  {
    key: 'oidcIssuer',
    env: 'EARSHOT_OIDC_ISSUER',
    flag: '--oidc-issuer',
    description:
      'OpenID Connect issuer URL (Authentik, Authelia, Keycloak, Zitadel …); https only unless EARSHOT_OIDC_ALLOW_INSECURE=true.',
  },
  {
    key: 'oidcClientId',
    env: 'EARSHOT_OIDC_CLIENT_ID',
    flag: '--oidc-client-id',
    description: 'OIDC client id registered at the issuer.',
  },
  {
    key: 'oidcClientSecret',
    env: 'EARSHOT_OIDC_CLIENT_SECRET',
    flag: '--oidc-client-secret',
    secret: true,
    description: 'OIDC client secret (unset: a public client with PKCE only).',
  },
  {
    key: 'oidcName',
    env: 'EARSHOT_OIDC_NAME',
    flag: '--oidc-name',
    default: 'Single sign-on',
    description: 'Label of the OIDC sign-in button ("Sign in with <name>").',
  },
  {
    key: 'oidcScopes',
    env: 'EARSHOT_OIDC_SCOPES',
    flag: '--oidc-scopes',
    default: 'openid email profile',
    description: 'Space-separated scopes asked of the OIDC provider (add "groups" for role mapping where needed).',
  },
  {
    key: 'oidcAllowInsecure',
    env: 'EARSHOT_OIDC_ALLOW_INSECURE',
    flag: '--oidc-allow-insecure',
    default: 'false',
    description: 'Allow an http:// OIDC issuer (a provider on the LAN or loopback).',
  },
  {
    key: 'oidcAllowedEmails',
    env: 'EARSHOT_OIDC_ALLOWED_EMAILS',
    flag: '--oidc-allowed-emails',
    default: '',
    list: true,
    description:
      'Only these verified emails and @domain entries may sign in through OIDC/Google (comma-separated). Empty: anyone the registration mode allows.',
  },
  {
    key: 'oidcAdminGroups',
    env: 'EARSHOT_OIDC_ADMIN_GROUPS',
    flag: '--oidc-admin-groups',
    default: '',
    list: true,
    description: 'Groups/roles (OIDC claim or forward-auth header) whose members become administrators on sign-in.',
  },
  {
    key: 'oidcGroupsClaim',
    env: 'EARSHOT_OIDC_GROUPS_CLAIM',
    flag: '--oidc-groups-claim',
    default: 'groups',
    description: 'ID-token/userinfo claim holding the groups or roles (e.g. groups, roles).',
  },
  {
    key: 'googleClientId',
    env: 'EARSHOT_GOOGLE_CLIENT_ID',
    flag: '--google-client-id',
    description: 'Google OAuth client id: enables "Sign in with Google" (with EARSHOT_GOOGLE_CLIENT_SECRET).',
  },
  {
    key: 'googleClientSecret',
    env: 'EARSHOT_GOOGLE_CLIENT_SECRET',
    flag: '--google-client-secret',
    secret: true,
    description: 'Google OAuth client secret.',
  },
];
