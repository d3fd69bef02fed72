/**
 * Who is making a request. Every area's routes call {@link requireUser} / {@link requireAdmin};
 * services receive the resulting {@link AuthUser} (never the request) and apply ownership rules.
 */
import type { FastifyRequest } from 'fastify';
import { Forbidden, Unauthorized } from '../shared/errors.js';

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
  }
}

export function requireUser(request: FastifyRequest): AuthUser {
  if (!request.user || request.user.via === 'stream-token') throw new Unauthorized();
  return request.user;
}

export function requireAdmin(request: FastifyRequest): AuthUser {
  const user = requireUser(request);
  if (user.role !== 'admin') throw new Forbidden('Only an administrator can do this.');
  return user;
}

export function isAdmin(user: AuthUser | null | undefined): boolean {
  return user?.role === 'admin';
}
