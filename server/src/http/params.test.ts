/**
 * Integer bounds in every input schema, checked from the registered route table: a
 * route added later with an unbounded number fails here without anyone editing a list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachServerEngine } from '../test/engines.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { routeTable } from './route-table.js';

type Node = Record<string, unknown>;

/** Every integer/number node of a JSON schema, with its path. */
function numericNodes(schema: unknown, path: string, out: Array<{ path: string; node: Node }> = []) {
  if (!schema || typeof schema !== 'object') return out;
  const node = schema as Node;
  if (node.type === 'integer' || node.type === 'number') out.push({ path, node });
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && value && typeof value === 'object') {
      for (const [name, sub] of Object.entries(value)) numericNodes(sub, `${path}.${name}`, out);
    } else if (Array.isArray(value)) {
      for (const [i, sub] of value.entries()) numericNodes(sub, `${path}.${key}[${i}]`, out);
    } else if ((key === 'items' || key === 'additionalProperties') && typeof value === 'object') {
      numericNodes(value, `${path}[]`, out);
    }
  }
  return out;
}

const BAD_INTEGERS = ['9223372036854775808', '1e308', '12345678901234567890', '0x10', ' 16', '1e3', '0b11', '1.5'];

forEachServerEngine(() => {
  describe('integer parameters are bounded everywhere (issue 13.2)', () => {
    let t: TestServer;
    let admin: Record<string, string>;
    beforeAll(async () => {
      t = await startTestServer();
      admin = await t.authHeaders(await t.createUser({ username: 'root', role: 'admin' }));
    });
    afterAll(() => t.close());

    it('every number in a querystring, params, headers or body schema has a minimum and a maximum', () => {
      const unbounded: string[] = [];
      let seen = 0;
      for (const route of routeTable(t.app)) {
        const schema = (route.schema ?? {}) as Record<string, unknown>;
        for (const part of ['querystring', 'params', 'headers', 'body'] as const) {
          for (const { path, node } of numericNodes(schema[part], `${route.method} ${route.url} ${part}`)) {
            seen += 1;
            const bounded =
              (typeof node.minimum === 'number' || typeof node.exclusiveMinimum === 'number') &&
              (typeof node.maximum === 'number' || typeof node.exclusiveMaximum === 'number');
            if (!bounded) unbounded.push(path);
          }
        }
      }
      expect(seen).toBeGreaterThan(10);
      expect(unbounded).toEqual([]);
    });

    it('every integer query parameter of every GET route refuses huge, hex, exponent and padded values with 400', async () => {
      const failures: string[] = [];
      let checked = 0;
      for (const route of routeTable(t.app)) {
        if (route.method !== 'GET') continue;
        const query = (route.schema as { querystring?: { properties?: Record<string, Node> } } | undefined)
          ?.querystring;
        const ints = Object.entries(query?.properties ?? {}).filter(([, p]) => p.type === 'integer');
        if (ints.length === 0) continue;
        // Path parameters get a well-formed id: validation runs before any lookup.
        const url = route.url.replace(/:[A-Za-z]+/g, 'AAAAAAAAAAAAAAAAAAAAAA');
        for (const [name] of ints) {
          for (const bad of BAD_INTEGERS) {
            checked += 1;
            const res = await t.app.inject({ url: `${url}?${name}=${encodeURIComponent(bad)}`, headers: admin });
            if (res.statusCode !== 400) failures.push(`${url}?${name}=${bad} → ${res.statusCode}`);
          }
        }
      }
      expect(checked).toBeGreaterThanOrEqual(11 * BAD_INTEGERS.length);
      expect(failures).toEqual([]);
    });

    it('plain decimals within the bounds still work', async () => {
      const res = await t.app.inject({ url: '/api/v1/tracks?limit=16&offset=1000000000', headers: admin });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ limit: 16, offset: 1000000000, items: [] });
      const body = await t.app.inject({ url: '/api/v1/playlists?limit=0x10', headers: admin });
      expect(body.statusCode).toBe(400);
      expect(body.json().detail).toMatch(/limit must be a plain decimal integer/);
    });
  });
});
