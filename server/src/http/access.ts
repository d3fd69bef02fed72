/**
 * Authorization by construction: every routes plugin is registered through
 * {@link accessScope}, an encapsulated plugin whose own `onRequest` hook — after the app-wide
 * authentication hook (http/app.ts), before validation and the handler — enforces the level of the
 * route being called:
 *
 * - `user` → 401 when anonymous (or when only a stream token was presented);
 * - `admin` → 401 anonymous, 403 for non-admins;
 * - `public` → anyone (must also be listed under "Public routes" in accounts/README.md; a test
 *   compares the registered route table with that list);
 * - `self` → the route authenticates on its own terms (stream tokens, Subsonic `u/t/s`/`apiKey`,
 *   OIDC callbacks); the route-table test still checks anonymous calls are refused.
 *
 * A route takes the level of the scope it is registered in, unless it names its own with
 * `config: { access }` (a public login route inside the accounts plugin, say). A route registered
 * outside every scope without `config.access` stops the server from starting
 * ({@link requireAccessLevels}), so forgetting authorization is not possible.
 *
 * Handlers of `user` and `admin` routes read the caller from `request.caller`
 * ({@link decorateAuthRequest}): the scope hook has already refused everybody else.
 *
 * The caller's type (`request.user`, an `AuthUser`) is declared by accounts/auth-context.ts; this
 * file does not import it, so the HTTP plumbing does not depend on the accounts area (which
 * registers its routes through these scopes).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, RouteOptions } from 'fastify';
import { Forbidden, Unauthorized } from '../shared/errors.js';
import { routeTable } from './route-table.js';

export type Access = 'public' | 'user' | 'admin' | 'self';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route; see http/access.ts. Set by the route's access scope. */
    access?: Access;
  }
}

/** The level of a registered route (`user` if, against {@link requireAccessLevels}, it has none). */
export function accessOf(route: Pick<RouteOptions, 'config'>): Access {
  return (route.config as { access?: Access } | undefined)?.access ?? 'user';
}

type Caller = NonNullable<FastifyRequest['user']>;

/** The signed-in caller; 401 when anonymous or when only a stream token was presented. */
export function requireUser(request: FastifyRequest): Caller {
  if (!request.user || request.user.via === 'stream-token') throw new Unauthorized();
  return request.user;
}

/** The signed-in administrator; 401 when anonymous, 403 for anyone else. */
export function requireAdmin(request: FastifyRequest): Caller {
  const user = requireUser(request);
  if (user.role !== 'admin') throw new Forbidden('Only an administrator can do this.');
  return user;
}

/**
 * Adds `request.user` (set by the authentication hook), `request.clientIp` and the
 * `request.caller` getter. Call on the root instance before any route.
 */
export function decorateAuthRequest(app: FastifyInstance): void {
  app.decorateRequest('user', null);
  app.decorateRequest('clientIp', '');
  app.decorateRequest('caller', {
    getter(this: FastifyRequest) {
      return requireUser(this);
    },
  });
}

function enforce(request: FastifyRequest): void {
  const access = (request.routeOptions.config as { access?: Access }).access ?? 'user';
  if (access === 'public' || access === 'self') return;
  if (access === 'admin') requireAdmin(request);
  else requireUser(request);
}

/**
 * Wraps a routes plugin in an encapsulated scope: every route it (and its children) declares gets
 * `access` unless the route names its own, and the scope's `onRequest` hook enforces each route's
 * level. Nothing leaks to sibling plugins.
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
    // Callback style: no promise per request on the hot path.
    app.addHook('onRequest', (request, _reply, done) => {
      try {
        enforce(request);
        done();
      } catch (err) {
        done(err as Error);
      }
    });
    // The plugin runs in this scope's own context, not in a child of it: the scope is already
    // encapsulated and holds nothing else, and each `register` costs Fastify a context (its hooks,
    // schemas, request and reply prototypes copied) and avvio a plugin entry with its timer
    // (start-up, issue 16).
    await plugin(app, options);
  };
  return scoped;
}

/**
 * Refuses to start a server that has a route without an access level (registered outside every
 * {@link accessScope} and without `config.access`). Call on the root instance after
 * `recordRoutes(app)`.
 */
export function requireAccessLevels(app: FastifyInstance): void {
  app.addHook('onReady', (done) => {
    const loose = routeTable(app)
      .filter((route) => (route.config as { access?: Access } | undefined)?.access === undefined)
      .map((route) => `${route.method} ${route.url}`);
    done(
      loose.length === 0
        ? undefined
        : new Error(`Routes without an access level (register them through accessScope()): ${loose.join(', ')}`),
    );
  });
}
