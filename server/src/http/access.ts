/**
 * Authorization by construction (access.test.ts checks every route): every route has an access level, and one `onRequest`
 * hook — after authentication, before validation and the handler — enforces it:
 *
 * - `user` (the default: a route nobody thought about is closed) → 401 when anonymous (or when
 *   only a stream token was presented);
 * - `admin` → 401 anonymous, 403 for non-admins;
 * - `public` → anyone (must also be listed under "Public routes" in accounts/README.md; a test
 *   compares the registered route table with that list);
 * - `self` → the route authenticates on its own terms (stream tokens, Subsonic `u/t/s`/`apiKey`,
 *   OIDC callbacks); the route-table test still checks anonymous calls are refused.
 *
 * Routes get their level from the encapsulated plugin they are registered in
 * (`app.register(accessScope('admin', adminRoutes), opts)`), or per route with
 * `config: { access: 'public' }` in a mixed plugin. Handlers may still call `requireUser()` to get
 * the typed user; it can no longer be forgotten.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, RouteOptions } from 'fastify';
import { requireAdmin, requireUser } from '../accounts/auth-context.js';

export type Access = 'public' | 'user' | 'admin' | 'self';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route; see http/access.ts. Default `user`. */
    access?: Access;
  }
}

/** The level of a registered route (the default applied). */
export function accessOf(route: Pick<RouteOptions, 'config'>): Access {
  return (route.config as { access?: Access } | undefined)?.access ?? 'user';
}

/**
 * Wraps a routes plugin so every route it (and its children) declares gets `access` unless the
 * route names its own. The wrapper is an encapsulated plugin: the level does not leak to siblings.
 */
// biome-ignore lint/suspicious/noExplicitAny: plugin options are whatever the wrapped plugin takes.
export function accessScope<O extends Record<string, any>>(
  access: Access,
  plugin: FastifyPluginAsync<O>,
): FastifyPluginAsync<O> {
  const scoped: FastifyPluginAsync<O> = async (app, options) => {
    app.addHook('onRoute', (route) => {
      const config = (route.config ?? {}) as { access?: Access };
      if (config.access === undefined) route.config = { ...config, access } as RouteOptions['config'];
    });
    await app.register(plugin, options);
  };
  return scoped;
}

function enforce(request: FastifyRequest): void {
  // Unknown URLs reach the not-found handler, which reveals nothing.
  if (request.is404) return;
  const access = (request.routeOptions.config as { access?: Access }).access ?? 'user';
  if (access === 'public' || access === 'self') return;
  if (access === 'admin') requireAdmin(request);
  else requireUser(request);
}

/** Registers the enforcing hook. Call after the authentication hook, before any route. */
export function registerAccessControl(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      enforce(request);
      done();
    } catch (err) {
      done(err as Error);
    }
  });
}
