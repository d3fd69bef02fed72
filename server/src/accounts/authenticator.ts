/**
 * Resolves the caller of a request. Order: web session cookie, then `Authorization: Bearer`.
 * (The Accounts area extends this with access JWTs, stream tokens and trusted-proxy identity.)
 */
import type { FastifyRequest } from 'fastify';
import type { AuthUser, Authenticator } from './auth-context.js';
import { SESSION_COOKIE, type SessionStore } from './session-store.js';

export interface BearerVerifier {
  verify(token: string): Promise<AuthUser | null>;
}

export class RequestAuthenticator implements Authenticator {
  private readonly extra: ((request: FastifyRequest) => Promise<AuthUser | null>)[] = [];

  constructor(
    private readonly sessions: SessionStore,
    private readonly bearer?: BearerVerifier,
  ) {}

  /** Adds another way to authenticate (tried after cookie and bearer), e.g. stream tokens. */
  use(strategy: (request: FastifyRequest) => Promise<AuthUser | null>): void {
    this.extra.push(strategy);
  }

  async authenticate(request: FastifyRequest): Promise<AuthUser | null> {
    const cookie = request.cookies?.[SESSION_COOKIE];
    if (cookie) {
      const s = await this.sessions.resolve(cookie);
      if (s) return { id: s.userId, username: s.username, role: s.role, via: 'session', sessionId: s.sessionId };
    }
    const header = request.headers.authorization;
    if (this.bearer && header?.startsWith('Bearer ')) {
      const user = await this.bearer.verify(header.slice(7).trim());
      if (user) return user;
    }
    for (const strategy of this.extra) {
      const user = await strategy(request);
      if (user) return user;
    }
    return null;
  }
}
