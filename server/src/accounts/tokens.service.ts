/**
 * API tokens for clients that are not the web app (OAuth2 password flow, `POST /auth/token`).
 *
 * - Access token: a short-lived JWT (HS256, key derived from the server key) naming the user
 *   (`sub`) and its refresh family (`sid`). Every use also checks the family is still active, so
 *   revoking a session, changing a password or deleting a user ends access tokens at once.
 * - Refresh token: a random secret, stored hashed, single use. Each refresh rotates it; the family
 *   is a `sessions` row of kind 'api'. Presenting an already rotated token means it was copied:
 *   the whole family is revoked (RFC 6819 §5.2.2.3, OAuth 2.0 Security BCP §4.14).
 */
import { createHmac } from 'node:crypto';
import type * as Jose from 'jose';
import { Invalid } from '../shared/errors.js';
import { newId, newSecret, sha256 } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import type { AuthUser } from './auth-context.js';
import type { BearerVerifier } from './authenticator.js';
import type { RefreshTokensRepository } from './refresh-tokens.repository.js';
import type { SessionMeta, SessionStore } from './session-store.js';

/** jose's ~50 module files load on the first token use, not at every start-up (see cli/commands.ts). */
let joseModule: Promise<typeof Jose> | null = null;
const jose = () => {
  joseModule ??= import('jose');
  return joseModule;
};

export const ACCESS_TOKEN_TTL_S = 15 * 60;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000;
const ISSUER = 'earshot';
const AUDIENCE = 'earshot-api';

export interface TokenPair {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  refresh_token: string;
}

/** OAuth2's error for a bad password or refresh token (RFC 6749 §5.2), as a 400 problem. */
export function invalidGrant(message: string): Invalid {
  return new Invalid(message, { error: 'invalid_grant' });
}

export class TokenService implements BearerVerifier {
  private subkey: Uint8Array | undefined;

  constructor(
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly sessions: SessionStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly serverKey: Buffer,
  ) {}

  /**
   * A purpose-bound subkey: the raw server key also signs other things (stream tokens, shares).
   * Derived on first use: `node:crypto` then loads after the server listens (issue 16 item 5).
   */
  private get key(): Uint8Array {
    this.subkey ??= new Uint8Array(createHmac('sha256', this.serverKey).update('earshot/access-jwt/v1').digest());
    return this.subkey;
  }

  /** Starts a new family for a user who just proved their password. */
  async issue(userId: string, meta: Omit<SessionMeta, 'kind' | 'ttlMs'> = {}): Promise<TokenPair> {
    const session = await this.sessions.create(userId, { ...meta, kind: 'api', ttlMs: REFRESH_TOKEN_TTL_MS });
    const refresh = await this.newRefreshToken(session.id);
    this.logger.info({ area: 'accounts', userId, sessionId: session.id }, 'api token family created');
    return {
      access_token: await this.sign(userId, session.id),
      token_type: 'bearer',
      expires_in: ACCESS_TOKEN_TTL_S,
      refresh_token: refresh,
    };
  }

  /** Exchanges a refresh token for a new pair (rotation); a replayed token revokes its family. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    if (!refreshToken || refreshToken.length > 200) throw invalidGrant('The refresh token is invalid.');
    const now = this.clock.now();
    const row = await this.refreshTokens.findByHash(sha256(refreshToken));
    if (!row) throw invalidGrant('The refresh token is invalid.');
    if (row.rotated_at !== null) {
      await this.revokeFamily(row.session_id, 'refresh token reused');
      throw invalidGrant('This refresh token was already used; the session has been revoked. Sign in again.');
    }
    if (row.expires_at <= now) throw invalidGrant('The refresh token has expired. Sign in again.');
    const user = await this.sessions.resolveById(row.session_id, 'api');
    if (!user) throw invalidGrant('The session of this refresh token has ended. Sign in again.');
    // Claim the token atomically: of two concurrent refreshes with the same token only one wins;
    // the loser is treated as a replay, which is what it looks like from here.
    if (!(await this.refreshTokens.claim(row.id, now))) {
      await this.revokeFamily(row.session_id, 'refresh token reused concurrently');
      throw invalidGrant('This refresh token was already used; the session has been revoked. Sign in again.');
    }
    const next = await this.newRefreshToken(row.session_id);
    await this.sessions.extend(row.session_id, now + REFRESH_TOKEN_TTL_MS);
    return {
      access_token: await this.sign(user.userId, row.session_id),
      token_type: 'bearer',
      expires_in: ACCESS_TOKEN_TTL_S,
      refresh_token: next,
    };
  }

  /** RFC 7009 revocation by the client itself: ends the refresh token's family. Unknown tokens are ignored. */
  async revokeByRefreshToken(refreshToken: string): Promise<void> {
    const row = await this.refreshTokens.findByHash(sha256(refreshToken));
    if (row) await this.revokeFamily(row.session_id, 'revoked by client');
  }

  async verify(token: string): Promise<AuthUser | null> {
    if (token.length > 2048) return null;
    const { errors: joseErrors, jwtVerify } = await jose();
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        currentDate: new Date(this.clock.now()),
      });
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') return null;
      const session = await this.sessions.resolveById(payload.sid, 'api');
      if (!session || session.userId !== payload.sub) return null;
      return {
        id: session.userId,
        username: session.username,
        role: session.role,
        via: 'bearer',
        sessionId: session.sessionId,
      };
    } catch (err) {
      if (!(err instanceof joseErrors.JOSEError)) throw err;
      return null;
    }
  }

  private async sign(userId: string, sessionId: string): Promise<string> {
    const { SignJWT } = await jose();
    const nowS = Math.floor(this.clock.now() / 1000);
    return new SignJWT({ sid: sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + ACCESS_TOKEN_TTL_S)
      .setJti(newId(16))
      .sign(this.key);
  }

  private async newRefreshToken(sessionId: string): Promise<string> {
    const secret = newSecret(32);
    const now = this.clock.now();
    await this.refreshTokens.insert({
      id: newId(),
      sessionId,
      tokenHash: sha256(secret),
      createdAt: now,
      expiresAt: now + REFRESH_TOKEN_TTL_MS,
    });
    return secret;
  }

  private async revokeFamily(sessionId: string, reason: string): Promise<void> {
    const revoked = await this.sessions.revoke(sessionId);
    if (revoked) this.logger.warn({ area: 'accounts', sessionId, reason }, 'api token family revoked');
  }
}
