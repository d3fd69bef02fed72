/**
 * The configured OpenID Connect providers. Two may be configured at once:
 *  - `oidc`: any issuer (`EARSHOT_OIDC_ISSUER`, `_CLIENT_ID`, `_CLIENT_SECRET`, `_NAME`, `_SCOPES`);
 *  - `google`: the Google preset (`EARSHOT_GOOGLE_CLIENT_ID` / `_SECRET`, issuer accounts.google.com).
 * Discovery runs on the first sign-in (not at start-up: a provider that is down must not stop the
 * music) and is kept; a failed discovery is retried on the next attempt.
 */
import type * as Oidc from 'openid-client';
import type { Config } from '../config/schema.js';

/**
 * openid-client (with oauth4webapi and jose) loads on the first sign-in through a provider, not at
 * every start-up: most servers have no provider configured (issue 16).
 */
let openidModule: Promise<typeof Oidc> | null = null;
export const openidClient = () => {
  openidModule ??= import('openid-client');
  return openidModule;
};

export const GOOGLE_ISSUER = 'https://accounts.google.com';

export interface OidcProviderSpec {
  /** Stable id used in URLs (`?provider=`) and stored with linked identities (`oidc:<id>`). */
  id: 'oidc' | 'google';
  /** Button label: "Sign in with <name>". */
  name: string;
  kind: 'oidc' | 'google';
  issuer: string;
  clientId: string;
  clientSecret?: string;
  scopes: string;
  allowInsecure: boolean;
  groupsClaim: string;
}

type ProviderConfig = Pick<
  Config,
  | 'oidcIssuer'
  | 'oidcClientId'
  | 'oidcClientSecret'
  | 'oidcName'
  | 'oidcScopes'
  | 'oidcAllowInsecure'
  | 'oidcGroupsClaim'
  | 'googleClientId'
  | 'googleClientSecret'
>;

/** Reads the provider settings; throws a readable Error for a half or unsafe configuration. */
export function oidcProvidersFrom(config: ProviderConfig): OidcProviderSpec[] {
  const out: OidcProviderSpec[] = [];
  if (config.oidcIssuer || config.oidcClientId) {
    if (!config.oidcIssuer || !config.oidcClientId) {
      throw new Error('OIDC sign-in needs both EARSHOT_OIDC_ISSUER and EARSHOT_OIDC_CLIENT_ID.');
    }
    const issuer = config.oidcIssuer.replace(/\/+$/, '');
    if (issuer.startsWith('http://') && !config.oidcAllowInsecure) {
      throw new Error(
        `EARSHOT_OIDC_ISSUER ${issuer} is plain http: set EARSHOT_OIDC_ALLOW_INSECURE=true to allow a provider on your LAN.`,
      );
    }
    out.push({
      id: 'oidc',
      name: config.oidcName,
      kind: 'oidc',
      issuer,
      clientId: config.oidcClientId,
      clientSecret: config.oidcClientSecret,
      scopes: withOpenId(config.oidcScopes),
      allowInsecure: config.oidcAllowInsecure,
      groupsClaim: config.oidcGroupsClaim,
    });
  }
  if (config.googleClientId || config.googleClientSecret) {
    if (!config.googleClientId || !config.googleClientSecret) {
      throw new Error('Sign in with Google needs both EARSHOT_GOOGLE_CLIENT_ID and EARSHOT_GOOGLE_CLIENT_SECRET.');
    }
    out.push({
      id: 'google',
      name: 'Google',
      kind: 'google',
      issuer: GOOGLE_ISSUER,
      clientId: config.googleClientId,
      clientSecret: config.googleClientSecret,
      scopes: 'openid email profile',
      allowInsecure: false,
      groupsClaim: config.oidcGroupsClaim,
    });
  }
  return out;
}

function withOpenId(scopes: string): string {
  const list = scopes.split(/\s+/).filter(Boolean);
  return (list.includes('openid') ? list : ['openid', ...list]).join(' ');
}

/** One provider with its discovered metadata, fetched once. */
export class OidcProvider {
  private configuration: Promise<Oidc.Configuration> | null = null;

  constructor(readonly spec: OidcProviderSpec) {}

  /** The discovered client configuration (discovery runs once; a failure is retried next time). */
  async client(): Promise<Oidc.Configuration> {
    if (!this.configuration) {
      const oidc = await openidClient();
      const { spec } = this;
      const execute = spec.allowInsecure ? [oidc.allowInsecureRequests] : [];
      const auth = spec.clientSecret ? oidc.ClientSecretPost(spec.clientSecret) : oidc.None();
      this.configuration = oidc.discovery(new URL(spec.issuer), spec.clientId, spec.clientSecret, auth, { execute });
      this.configuration.catch(() => {
        this.configuration = null;
      });
    }
    return this.configuration;
  }
}
