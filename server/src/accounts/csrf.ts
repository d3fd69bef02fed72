/**
 * Cross-site request forgery defence for cookie-authenticated requests (auth.test.ts).
 *
 * SameSite=Lax already keeps the cookie off cross-site POSTs in current browsers; this check is the
 * second lock (older browsers, same-site sibling hosts, login CSRF). A state-changing request
 * (POST/PUT/PATCH/DELETE) that is authenticated by the session cookie — or that would create one:
 * login, setup, register, logout — must come from our own origin:
 *  - `Origin` present: it must be this server's origin (the Host it was sent to) or the configured
 *    public URL's origin; `Origin: null` (sandboxed frames, some redirects) is refused;
 *  - no `Origin` but `Sec-Fetch-Site`: it must be `same-origin` (or `none`: typed by the user);
 *  - neither header: not a browser (curl, an API client, a test) → allowed.
 * Bearer-authenticated requests are exempt: a browser never attaches an Authorization header by itself.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Forbidden } from '../shared/errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const COOKIE_ISSUING = /^\/auth\/(login|setup|register|logout)\/?(\?|$)/;

export function isSameOriginRequest(request: FastifyRequest, publicOrigin: string | null): boolean {
  const origin = request.headers.origin;
  if (origin !== undefined) {
    const value = String(origin).toLowerCase();
    if (value === 'null') return false;
    if (publicOrigin && value === publicOrigin) return true;
    const host = request.headers.host?.toLowerCase();
    return host !== undefined && (value === `http://${host}` || value === `https://${host}`);
  }
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  return true;
}

export function registerCsrfProtection(app: FastifyInstance, options: { publicUrl?: string }): void {
  const publicOrigin = options.publicUrl ? new URL(options.publicUrl).origin.toLowerCase() : null;
  app.addHook('onRequest', async (request) => {
    if (SAFE_METHODS.has(request.method)) return;
    // Ambient credentials a browser attaches by itself: our cookie, or a trusted proxy's own
    // session turned into identity headers. Bearer tokens and API keys are never ambient.
    const ambient = request.user?.via === 'session' || request.user?.via === 'proxy';
    if (!ambient && !COOKIE_ISSUING.test(request.url)) return;
    if (!isSameOriginRequest(request, publicOrigin)) {
      request.log.warn(
        { area: 'accounts', origin: request.headers.origin, secFetchSite: request.headers['sec-fetch-site'] },
        'cross-site request refused',
      );
      throw new Forbidden('Cross-site request refused: this action must come from the Earshot web app itself.');
    }
  });
}
