/**
 * Trusted forward-auth headers (proxy-auth.test.ts): Authelia, Authentik
 * (`Remote-User`, `Remote-Email`, `Remote-Name`, `Remote-Groups`) or `tailscale serve`
 * (`Tailscale-User-Login`, `Tailscale-User-Name`) sign the request in — but only when the TCP
 * peer is in EARSHOT_TRUSTED_PROXIES. From any other peer the headers are ignored, so a client
 * reaching the port directly cannot claim to be `admin`. An empty trusted list disables this.
 */
import type { FastifyRequest } from 'fastify';
import type { Logger } from '../shared/logger.js';
import type { AuthUser } from './auth-context.js';
import { normalizeIp, type TrustedProxies } from './client-ip.js';
import { type IdentityService, SignInRefused } from './identity.service.js';

export interface ProxyAuthHeaders {
  user: string;
  email: string;
  name: string;
  groups: string;
}

const MAX_VALUE = 256;

function headerValue(request: FastifyRequest, name: string): string | null {
  const raw = request.headers[name];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  return value && value.length <= MAX_VALUE * 4 ? value : null;
}

export function proxyAuthStrategy(options: {
  headers: ProxyAuthHeaders;
  trusted: TrustedProxies;
  identities: IdentityService;
  logger: Logger;
}): (request: FastifyRequest) => Promise<AuthUser | null> {
  const { trusted, identities, logger } = options;
  const names = {
    user: options.headers.user.toLowerCase(),
    email: options.headers.email.toLowerCase(),
    name: options.headers.name.toLowerCase(),
    groups: options.headers.groups.toLowerCase(),
  };
  // Tailscale sends the display name in its own header.
  const tailscale = names.user === 'tailscale-user-login';
  const issuer = `proxy:${names.user}`;
  return async (request) => {
    const login = headerValue(request, names.user);
    if (!login || login.length > MAX_VALUE) return null;
    if (!trusted.has(normalizeIp(request.raw.socket.remoteAddress))) {
      request.log.debug({ area: 'accounts', header: names.user }, 'identity header from an untrusted peer ignored');
      return null;
    }
    const email = headerValue(request, names.email) ?? (login.includes('@') ? login : null);
    const name = headerValue(request, tailscale ? 'tailscale-user-name' : names.name);
    const groups = (headerValue(request, names.groups) ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean);
    try {
      const user = await identities.signIn({
        provider: 'proxy',
        issuer,
        subject: login,
        trustedUsername: login,
        email,
        // The proxy authenticated this person; its headers are as good as its login page.
        emailVerified: email !== null,
        name,
        groups,
      });
      return { id: user.id, username: user.username, role: user.role, via: 'proxy' };
    } catch (err) {
      if (!(err instanceof SignInRefused)) throw err;
      logger.info({ area: 'accounts', reason: err.reason }, 'forward-auth user not signed in');
      return null;
    }
  };
}
