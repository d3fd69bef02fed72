/**
 * Cloudflare Access: the `Cf-Access-Jwt-Assertion` header that Access adds to every request it
 * lets through is verified and signs its user in (cf-access.test.ts).
 *
 * - Only from peers in EARSHOT_TRUSTED_PROXIES (cloudflared), like every identity header.
 * - RS256 only (no `alg: none`, no HS256 "signed" with the public key), against the team's JWKS
 *   at `<team domain>/cdn-cgi/access/certs`; `iss` = team domain, `aud` ∋ one of our AUD tags,
 *   `exp`/`nbf` checked (jose).
 * - The JWKS is cached (10 min) and refetched on an unknown `kid` at most once per 30 s, so a
 *   flood of tokens with made-up key ids cannot turn into a flood of requests to Cloudflare.
 * - A missing or invalid assertion, or one without an email (a service token), falls back to the
 *   normal sign-in (cookie, bearer, API key): junk never signs anyone in.
 */
import type { FastifyRequest } from 'fastify';
import type * as Jose from 'jose';
import type { JWTPayload } from 'jose';
import type { Logger } from '../shared/logger.js';
import type { AuthUser } from './auth-context.js';
import type { TrustedProxies } from './client-ip.js';
import { normalizeIp } from './client-ip.js';
import { type IdentityService, SignInRefused } from './identity.service.js';

export const CF_ACCESS_HEADER = 'cf-access-jwt-assertion';
/** jose's defaults, stated: how long keys are trusted, and the pause between refetches. */
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
export const JWKS_REFETCH_COOLDOWN_MS = 30_000;

export interface CfAccessOptions {
  teamDomain: string;
  audiences: string[];
  /** Test and bench hook; defaults to `<team domain>/cdn-cgi/access/certs`. */
  jwksUrl?: string;
}

export class CfAccessVerifier {
  readonly issuer: string;
  private readonly url: URL;
  /** jose and the key set, made on the first assertion (jose is not loaded by servers without Access). */
  private keys: Promise<{ jose: typeof Jose; jwks: ReturnType<typeof Jose.createRemoteJWKSet> }> | null = null;

  constructor(private readonly options: CfAccessOptions) {
    if (options.audiences.length === 0) {
      throw new Error('EARSHOT_CF_ACCESS_TEAM_DOMAIN needs EARSHOT_CF_ACCESS_AUD (the Access application’s AUD tag).');
    }
    this.issuer = options.teamDomain.replace(/\/+$/, '');
    this.url = new URL(options.jwksUrl ?? `${this.issuer}/cdn-cgi/access/certs`);
  }

  private loadKeys() {
    this.keys ??= import('jose').then((jose) => ({
      jose,
      jwks: jose.createRemoteJWKSet(this.url, {
        cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
        cooldownDuration: JWKS_REFETCH_COOLDOWN_MS,
        timeoutDuration: 5_000,
      }),
    }));
    return this.keys;
  }

  /** The verified claims, or null for anything that is not a valid assertion for our application. */
  async verify(token: string): Promise<JWTPayload | null> {
    if (token.length > 8192 || token.split('.').length !== 3) return null;
    const { jose, jwks } = await this.loadKeys();
    try {
      const { payload } = await jose.jwtVerify(token, jwks, {
        algorithms: ['RS256'],
        issuer: this.issuer,
        audience: this.options.audiences,
        requiredClaims: ['exp', 'iat'],
      });
      return payload;
    } catch {
      return null;
    }
  }
}

/** The authenticator strategy: a verified Access user becomes the request's user (via `proxy`). */
export function cfAccessStrategy(options: {
  verifier: CfAccessVerifier;
  trusted: TrustedProxies;
  identities: IdentityService;
  logger: Logger;
}): (request: FastifyRequest) => Promise<AuthUser | null> {
  const { verifier, trusted, identities, logger } = options;
  return async (request) => {
    const raw = request.headers[CF_ACCESS_HEADER];
    if (typeof raw !== 'string' || raw === '') return null;
    if (!trusted.has(normalizeIp(request.raw.socket.remoteAddress))) return null;
    const claims = await verifier.verify(raw);
    if (!claims) {
      request.log.debug({ area: 'accounts' }, 'invalid Cf-Access-Jwt-Assertion ignored');
      return null;
    }
    // Service tokens carry no email (common_name = the token's client id): apps sign in themselves.
    if (typeof claims.email !== 'string' || typeof claims.sub !== 'string' || claims.sub === '') return null;
    try {
      const user = await identities.signIn({
        provider: 'cf-access',
        issuer: verifier.issuer,
        subject: claims.sub,
        email: claims.email,
        // Access proved control of the address (one-time code or the team's identity provider).
        emailVerified: true,
        groups: [],
      });
      return { id: user.id, username: user.username, role: user.role, via: 'proxy' };
    } catch (err) {
      if (!(err instanceof SignInRefused)) throw err;
      logger.info({ area: 'accounts', reason: err.reason }, 'Cloudflare Access user not signed in');
      return null;
    }
  };
}
