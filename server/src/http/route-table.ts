/**
 * The registered route table: every route the app answers, recorded by an `onRoute` hook added
 * before any route. Tests are built from it (authorization of every route, bounds of every input
 * schema) instead of hand-kept lists, so a route added later is covered without editing a test.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

export interface RouteEntry {
  method: string;
  url: string;
  schema: RouteOptions['schema'];
  /** Read when needed: scopes registered later in the hook chain may still set `access`. */
  readonly config: RouteOptions['config'];
}

const tables = new WeakMap<object, RouteEntry[]>();

/** Starts recording. Call on the root instance before any route is registered. */
export function recordRoutes(app: FastifyInstance): void {
  const table: RouteEntry[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      table.push({
        method,
        url: route.url,
        schema: route.schema,
        get config() {
          return route.config;
        },
      });
    }
  });
}

/** Every route registered so far on `app` (HEAD routes Fastify adds for GETs included). */
export function routeTable(app: FastifyInstance): readonly RouteEntry[] {
  const table = tables.get(app);
  if (!table) throw new Error('recordRoutes(app) was not called before the routes were registered');
  return table;
}
