/**
 * Short-lived signed stream tokens for players that cannot send the session cookie (external
 * players, casting, `<audio>` on another origin): `?token=` bound to one track, one user and an
 * expiry, signed with HMAC-SHA256 under a key derived from the server key. Nothing is stored; a
 * token grants only that track's `/stream/` URL (`request.caller` rejects `via: 'stream-token'`).
 *
 * Format: base64url(JSON {t: trackId, u: userId, e: expiresAtMs}) "." base64url(HMAC).
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../shared/time.js';

export const STREAM_TOKEN_TTL_MS = 6 * 3600 * 1000;
const MAX_TOKEN_LENGTH = 400;

export interface StreamTokenClaims {
  trackId: string;
  userId: string;
  expiresAt: number;
}

export class StreamTokens {
  private subkey: Buffer | undefined;

  constructor(
    private readonly serverKey: Buffer,
    private readonly clock: Clock,
    private readonly ttlMs = STREAM_TOKEN_TTL_MS,
  ) {}

  /**
   * A purpose-bound subkey: a stream token can never be replayed as another kind of signature.
   * Derived on first use: `node:crypto` then loads after the server listens (issue 16 item 5).
   */
  private get key(): Buffer {
    this.subkey ??= Buffer.from(hkdfSync('sha256', this.serverKey, Buffer.alloc(0), 'earshot stream-token v1', 32));
    return this.subkey;
  }

  issue(userId: string, trackId: string): { token: string; expiresAt: number } {
    const expiresAt = this.clock.now() + this.ttlMs;
    const body = Buffer.from(JSON.stringify({ t: trackId, u: userId, e: expiresAt })).toString('base64url');
    return { token: `${body}.${this.sign(body)}`, expiresAt };
  }

  /** The claims of a valid, unexpired token; null for anything else (never throws on junk). */
  verify(token: string | undefined): StreamTokenClaims | null {
    if (!token || token.length > MAX_TOKEN_LENGTH) return null;
    const dot = token.indexOf('.');
    if (dot <= 0) return null;
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(body), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let claims: { t?: unknown; u?: unknown; e?: unknown };
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    if (typeof claims.t !== 'string' || typeof claims.u !== 'string' || typeof claims.e !== 'number') return null;
    if (claims.e <= this.clock.now()) return null;
    return { trackId: claims.t, userId: claims.u, expiresAt: claims.e };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
