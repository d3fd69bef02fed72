/**
 * Authorization of every registered route, built from the route table
 * the app recorded, not from a hand-kept list: a route added by anyone later is covered.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/harness.js';
import { accessOf } from './access.js';
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

  it('every route under /api/v1/admin/ is declared admin', () => {
    const loose = routes.filter((r) => r.url.startsWith('/api/v1/admin/') && accessOf(r) !== 'admin');
    expect(loose.map((r) => `${r.method} ${r.url}`)).toEqual([]);
  });
});
