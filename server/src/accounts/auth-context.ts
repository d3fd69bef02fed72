/**
 * Who is making a request. The access scopes of http/access.ts refuse anonymous callers (and
 * non-admins on admin routes) before a handler runs; handlers read the caller from
 * `request.caller` and pass the {@link AuthUser} (never the request) to services, which apply
 * ownership rules.
 */
import type { FastifyRequest } from 'fastify';

export type Role = 'admin' | 'user';

export interface AuthUser {
  id: string;
  username: string;
  role: Role;
  /** How the request proved who it is. */
  via: 'session' | 'bearer' | 'stream-token' | 'proxy' | 'api-key';
  /** The server-side session (cookie) or refresh family behind the request, when there is one. */
  sessionId?: string;
  /** For `stream-token`: the one track the token is bound to. */
  trackId?: string;
}

/** Resolves the caller from cookies / Authorization / trusted headers; null when anonymous. */
export interface Authenticator {
  authenticate(request: FastifyRequest): Promise<AuthUser | null>;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: AuthUser | null;
    /** The client's address after applying EARSHOT_TRUSTED_PROXIES (see accounts/client-ip.ts). */
    clientIp: string;
    /**
     * The signed-in caller of a `user` or `admin` route, which its access scope has already
     * checked. Reading it anywhere else (a public route) refuses the request with 401
     * (http/access.ts).
     */
    readonly caller: AuthUser;
  }
}

export function isAdmin(user: AuthUser | null | undefined): boolean {
  return user?.role === 'admin';
}
