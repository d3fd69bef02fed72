/**
 * OpenID Connect sign-in: authorization code flow with PKCE (S256), `state` and `nonce`
 * (openid-client 6 does the protocol checks: issuer, audience, signature, nonce, PKCE).
 *
 * A started sign-in is kept in memory under its `state` for 10 minutes and is bound to the
 * browser that started it (a random value in a short-lived cookie; only its hash is kept). The
 * callback consumes it: a missing, unknown, replayed or foreign `state` is refused before any
 * token request. A restart forgets pending sign-ins, which only means clicking the button again.
 */
import type * as Oidc from 'openid-client';
import { newSecret, sha256 } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { type ExternalProfile, type IdentityService, SignInRefused } from './identity.service.js';
import { type OidcProvider, openidClient } from './oidc.providers.js';
import { safeReturnTo } from './return-to.js';
import type { UserRow } from './users.repository.js';

export const OIDC_PENDING_TTL_MS = 10 * 60_000;
const MAX_PENDING = 1000;

interface Pending {
  provider: OidcProvider;
  codeVerifier: string;
  nonce: string;
  browserHash: string;
  redirectUri: string;
  returnTo: string;
  invite?: string;
  linkTo?: string;
  expiresAt: number;
}

export interface OidcStart {
  /** Where to send the browser (the provider's authorization endpoint). */
  url: string;
  /** Goes into the browser-binding cookie. */
  browserSecret: string;
}

export interface OidcResult {
  user: UserRow;
  returnTo: string;
  /** True when an identity was added to an already signed-in user (Settings). */
  linked: boolean;
}

export interface PublicProvider {
  id: string;
  name: string;
  kind: 'oidc' | 'google';
}

export class OidcService {
  private readonly pending = new Map<string, Pending>();
  private readonly byId: Map<string, OidcProvider>;

  constructor(
    providers: OidcProvider[],
    private readonly identities: IdentityService,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.byId = new Map(providers.map((p) => [p.spec.id, p]));
  }

  providers(): PublicProvider[] {
    return [...this.byId.values()].map(({ spec }) => ({ id: spec.id, name: spec.name, kind: spec.kind }));
  }

  /** Starts a sign-in (or a link, with `linkTo`); throws SignInRefused when the provider is unknown or down. */
  async begin(input: {
    providerId?: string;
    redirectUri: string;
    returnTo?: string;
    invite?: string;
    linkTo?: string;
  }): Promise<OidcStart> {
    const provider = input.providerId ? this.byId.get(input.providerId) : this.byId.values().next().value;
    if (!provider) throw new SignInRefused('provider_error', 'This sign-in method is not configured on this server.');
    let client: Oidc.Configuration;
    try {
      client = await provider.client();
    } catch (err) {
      this.logger.warn({ area: 'accounts', provider: provider.spec.id, err }, 'OIDC discovery failed');
      throw new SignInRefused('provider_error', `${provider.spec.name} cannot be reached right now. Try again later.`, {
        cause: err,
      });
    }
    const oidc = await openidClient();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const browserSecret = newSecret(24);
    this.remember(state, {
      provider,
      codeVerifier,
      nonce,
      browserHash: sha256(browserSecret),
      redirectUri: input.redirectUri,
      returnTo: safeReturnTo(input.returnTo),
      invite: input.invite,
      linkTo: input.linkTo,
      expiresAt: this.clock.now() + OIDC_PENDING_TTL_MS,
    });
    const url = oidc.buildAuthorizationUrl(client, {
      redirect_uri: input.redirectUri,
      scope: provider.spec.scopes,
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      // Google: let people with several accounts choose; harmless elsewhere.
      ...(provider.spec.kind === 'google' ? { prompt: 'select_account' } : {}),
    });
    return { url: url.href, browserSecret };
  }

  /** Finishes the sign-in from the callback's query string; throws SignInRefused on every failure. */
  async complete(input: { query: string; browserSecret?: string }): Promise<OidcResult> {
    const params = new URLSearchParams(input.query);
    const state = params.get('state');
    const entry = state ? this.pending.get(state) : undefined;
    if (state) this.pending.delete(state); // single use, whatever happens next
    if (
      !state ||
      !entry ||
      entry.expiresAt <= this.clock.now() ||
      !input.browserSecret ||
      sha256(input.browserSecret) !== entry.browserHash
    ) {
      throw new SignInRefused('invalid_state', 'This sign-in link has expired or was already used. Please try again.');
    }
    const { provider } = entry;
    const providerError = params.get('error');
    if (providerError) {
      this.logger.info({ area: 'accounts', provider: provider.spec.id, error: providerError }, 'provider refused');
      throw new SignInRefused('provider_error', `${provider.spec.name} did not sign you in (${providerError}).`);
    }
    const profile = await this.exchange(entry, state, params);
    const user = await this.identities.signIn(profile, {
      allowList: true,
      invite: entry.invite,
      linkTo: entry.linkTo,
    });
    this.logger.info({ area: 'accounts', provider: provider.spec.id, userId: user.id }, 'OIDC sign-in');
    return { user, returnTo: entry.linkTo ? '/settings' : entry.returnTo, linked: entry.linkTo !== undefined };
  }

  /** Code → tokens (PKCE, state, nonce and ID-token checks by openid-client) → profile. */
  private async exchange(entry: Pending, state: string, params: URLSearchParams): Promise<ExternalProfile> {
    const { provider } = entry;
    try {
      const client = await provider.client();
      const oidc = await openidClient();
      const currentUrl = new URL(entry.redirectUri);
      currentUrl.search = params.toString();
      const tokens = await oidc.authorizationCodeGrant(client, currentUrl, {
        pkceCodeVerifier: entry.codeVerifier,
        expectedState: state,
        expectedNonce: entry.nonce,
        idTokenExpected: true,
      });
      let claims: Record<string, unknown> = { ...tokens.claims() };
      if (typeof claims.email !== 'string' && client.serverMetadata().userinfo_endpoint) {
        const info = await oidc.fetchUserInfo(client, tokens.access_token, String(claims.sub));
        claims = { ...info, ...claims };
      }
      return {
        provider: `oidc:${provider.spec.id}`,
        issuer: client.serverMetadata().issuer,
        subject: String(claims.sub),
        email: typeof claims.email === 'string' ? claims.email : null,
        // Some providers send the string "true".
        emailVerified: claims.email_verified === true || claims.email_verified === 'true',
        preferredUsername: typeof claims.preferred_username === 'string' ? claims.preferred_username : null,
        name: typeof claims.name === 'string' ? claims.name : null,
        groups: stringList(claims[provider.spec.groupsClaim]),
      };
    } catch (err) {
      this.logger.warn(
        { area: 'accounts', provider: provider.spec.id, reason: (err as Error).message },
        'OIDC code exchange refused',
      );
      throw new SignInRefused('provider_error', `The answer from ${provider.spec.name} could not be verified.`, {
        cause: err,
      });
    }
  }

  private remember(state: string, entry: Pending): void {
    if (this.pending.size >= MAX_PENDING) {
      const now = this.clock.now();
      for (const [key, value] of this.pending) if (value.expiresAt <= now) this.pending.delete(key);
      // Still full: the oldest pending sign-in gives way (Map keeps insertion order).
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value as string);
    }
    this.pending.set(state, entry);
  }
}

function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return [];
}
