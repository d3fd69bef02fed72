/**
 * Authorization of every registered route, built from the route table
 * the app recorded, not from a hand-kept list: a route added by anyone later is covered.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachServerEngine } from '../test/engines.js';
import type { AuthUser } from '../accounts/auth-context.js';
import { createLogger } from '../shared/logger.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { type Access, accessOf, accessScope } from './access.js';
import { buildHttpApp } from './app.js';
import { type RouteEntry, routeTable } from './route-table.js';

const DUMMY_ID = 'AAAAAAAAAAAAAAAAAAAAAA';
const DUMMY_TOKEN = `${DUMMY_ID}.${'A'.repeat(32)}`;

/** `METHOD /path` entries between the public-routes markers of accounts/README.md. */
function documentedPublicRoutes(): Set<string> {
  const readme = readFileSync(new URL('../accounts/README.md', import.meta.url), 'utf8');
  const block = readme.slice(
    readme.indexOf('<!-- public-routes:start -->'),
    readme.indexOf('<!-- public-routes:end -->'),
  );
  return new Set([...block.matchAll(/`((?:GET|POST|PUT|PATCH|DELETE) [^`]+)`/g)].map((m) => m[1]));
}

/** Whether a route key is covered by a documented entry (`…` at the end = any path below). */
function covers(entry: string, key: string): boolean {
  return entry === key || (entry.endsWith('…') && key.startsWith(entry.slice(0, -1)));
}
function documented(list: Set<string>, route: RouteEntry): boolean {
  const key = `${route.method} ${route.url}`;
  return [...list].some((entry) => covers(entry, key));
}

function concreteUrl(url: string): string {
  if (url === '/rest/:method') return '/rest/ping'; // a real Subsonic method: it must ask for credentials
  return url
    .replace(':token', DUMMY_TOKEN)
    .replace(/:[A-Za-z]+/g, DUMMY_ID)
    .replace(/\*$/, 'x');
}

forEachServerEngine(() => {
  describe('authorization of every registered route', () => {
    let t: TestServer;
    let routes: RouteEntry[];
    let user: Record<string, string>;
    beforeAll(async () => {
      t = await startTestServer();
      user = await t.authHeaders(await t.createUser({ username: 'plain' }));
      // HEAD twins share their GET route's options; OPTIONS is not served.
      routes = routeTable(t.app).filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
    });
    afterAll(() => t.close());

    it('the public routes are exactly the documented list', () => {
      const list = documentedPublicRoutes();
      expect(list.size).toBeGreaterThan(10);
      const publicRoutes = routes.filter((r) => accessOf(r) === 'public');
      expect(publicRoutes.filter((r) => !documented(list, r)).map((r) => `${r.method} ${r.url}`)).toEqual([]);
      // Every documented route that is registered is declared public (and answers anonymously).
      const closed = routes.filter((r) => documented(list, r) && accessOf(r) !== 'public');
      expect(closed.map((r) => `${r.method} ${r.url}`)).toEqual([]);
      // Every documented entry exists (the docs do not promise routes that are gone).
      const registered = routes.map((r) => `${r.method} ${r.url}`);
      const missing = [...list].filter((e) => !registered.some((k) => covers(e, k)));
      // /metrics exists only while metrics are enabled on the main port, /* once the web app is built.
      expect(missing.filter((e) => e !== 'GET /metrics' && e !== 'GET /*')).toEqual([]);
    });

    it('SECURITY 13: every non-public route refuses anonymous callers with 401 before validation', async () => {
      const wrong: string[] = [];
      let checked = 0;
      for (const route of routes) {
        const access = accessOf(route);
        if (access === 'public') continue;
        checked += 1;
        // No body, bad ids and all: the answer must be 401 and not a 400 that reveals the schema.
        const res = await t.app.inject({ method: route.method as 'GET', url: concreteUrl(route.url) });
        // Subsonic apps expect every error as HTTP 200 with a failed envelope (error 10: no credentials).
        const subsonicRefusal =
          route.url.startsWith('/rest/') &&
          res.statusCode === 200 &&
          /status="failed"[^>]*>\s*<error code="10"/.test(res.body);
        const ok =
          access === 'self'
            ? res.statusCode === 401 || res.statusCode === 403 || subsonicRefusal
            : res.statusCode === 401;
        if (!ok) wrong.push(`${route.method} ${route.url} (${access}) → ${res.statusCode}`);
      }
      expect(checked).toBeGreaterThan(50);
      expect(wrong).toEqual([]);
    });

    it('SECURITY 13: every admin route answers 403 to a signed-in non-admin', async () => {
      const wrong: string[] = [];
      const admin = routes.filter((r) => accessOf(r) === 'admin');
      expect(admin.length).toBeGreaterThan(15);
      for (const route of admin) {
        const res = await t.app.inject({ method: route.method as 'GET', url: concreteUrl(route.url), headers: user });
        if (res.statusCode !== 403) wrong.push(`${route.method} ${route.url} → ${res.statusCode}`);
      }
      expect(wrong).toEqual([]);
    });

    it('every route got its level from an access scope or its own config (none is left to a default)', () => {
      const loose = routes.filter((r) => (r.config as { access?: Access } | undefined)?.access === undefined);
      expect(loose.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    });

    it('every route under /api/v1/admin/ is declared admin', () => {
      const loose = routes.filter((r) => r.url.startsWith('/api/v1/admin/') && accessOf(r) !== 'admin');
      expect(loose.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    });
  });
});

describe('access scopes', () => {
  const alice: AuthUser = { id: 'a', username: 'alice', role: 'user', via: 'session' };
  const root: AuthUser = { id: 'r', username: 'root', role: 'admin', via: 'session' };
  const ticket: AuthUser = { ...alice, via: 'stream-token', trackId: 't' };
  const callers: Record<string, AuthUser> = { alice, root, ticket };

  /** The real app, with an authenticator that believes an `x-as` header (the scopes are under test). */
  async function appWith(register: (app: Awaited<ReturnType<typeof buildHttpApp>>) => Promise<void>) {
    const app = await buildHttpApp({
      logger: createLogger({ level: 'silent', format: 'json' }),
      version: 'test',
      authenticator: { authenticate: async (request) => callers[String(request.headers['x-as'])] ?? null },
    });
    await register(app);
    return app;
  }

  it('a scope refuses the callers its level excludes before the handler runs, and hands the rest request.caller', async () => {
    const ran: string[] = [];
    const app = await appWith(async (app) => {
      await app.register(
        accessScope('user', async (scope) => {
          scope.get('/mine', async (request) => {
            ran.push('mine');
            return { who: request.caller.username };
          });
          scope.get('/open', { config: { access: 'public' } }, async () => ({ open: true }));
          scope.get('/boss', { config: { access: 'admin' } }, async (request) => ({ who: request.caller.username }));
        }),
      );
      await app.register(
        accessScope('admin', async (scope) => {
          scope.get('/admin-only', async (request) => ({ who: request.caller.username }));
        }),
      );
      // A public route that reads the caller anyway: the getter refuses, as requireUser would.
      await app.register(
        accessScope('public', async (scope) => {
          scope.get('/careless', async (request) => ({ who: request.caller.username }));
        }),
      );
    });
    const status = async (url: string, as?: string) =>
      (await app.inject({ url, headers: as ? { 'x-as': as } : {} })).statusCode;
    expect(await status('/mine')).toBe(401);
    expect(await status('/mine', 'ticket')).toBe(401);
    expect(ran).toEqual([]);
    expect((await app.inject({ url: '/mine', headers: { 'x-as': 'alice' } })).json()).toEqual({ who: 'alice' });
    expect(await status('/open')).toBe(200);
    expect(await status('/boss', 'alice')).toBe(403);
    expect(await status('/boss', 'root')).toBe(200);
    expect(await status('/admin-only')).toBe(401);
    expect(await status('/admin-only', 'alice')).toBe(403);
    expect(await status('/admin-only', 'root')).toBe(200);
    expect(await status('/careless')).toBe(401);
    expect(await status('/careless', 'alice')).toBe(200);
    await app.close();
  });

  it('a scope does not leak to its siblings', async () => {
    const app = await appWith(async (app) => {
      await app.register(accessScope('admin', async (scope) => void scope.get('/a', async () => 'a')));
      await app.register(accessScope('public', async (scope) => void scope.get('/b', async () => 'b')));
    });
    expect((await app.inject({ url: '/b' })).statusCode).toBe(200);
    expect(accessOf(routeTable(app).find((r) => r.url === '/b')!)).toBe('public');
    await app.close();
  });

  it('a scope is one encapsulation context: its plugin runs in it, not in a child (start-up, issue 16)', async () => {
    let contexts = 0;
    const app = await appWith(async (app) => {
      app.addHook('onRegister', () => {
        contexts++;
      });
      await app.register(
        accessScope('admin', async (scope) => {
          scope.get('/a', async () => 'a');
          // Encapsulation holds: what the plugin adds stays in its scope.
          scope.decorateRequest('scoped', null);
        }),
      );
      app.get('/outside', { config: { access: 'public' } }, async (request) => String('scoped' in request));
    });
    expect(contexts).toBe(1);
    expect((await app.inject({ url: '/a' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/outside' })).body).toBe('false');
    await app.close();
  });

  it('a server with a route outside every scope and without a level does not start', async () => {
    const app = await appWith(async (app) => {
      app.get('/forgotten', async () => 'oops');
    });
    await expect(app.ready()).rejects.toThrow(/GET \/forgotten/);
    await app.close();
  });
});
