/**
 * Calls `/rest` through the real app (inject) the way clients do, and validates every XML answer
 * against the XSD, so any test that asks for XML also proves it well-formed and schema-valid.
 */
import type { LightMyRequestResponse } from 'fastify';
import type { TestServer } from '../harness.js';
import { assertValidXml } from './xsd.js';

export type Query = Record<string, string | number | boolean | (string | number)[]>;

export function queryString(q: Query): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    for (const item of Array.isArray(v) ? v : [v]) sp.append(k, String(item));
  }
  return sp.toString();
}

export interface RestCaller {
  /** JSON answer's `subsonic-response` (a free-form tree, as clients read it). */
  // biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary response trees
  json(method: string, q?: Query): Promise<Record<string, any>>;
  /** XML answer text, validated against the XSD. */
  xml(method: string, q?: Query): Promise<string>;
  raw(method: string, q?: Query, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

export function restCaller(t: TestServer, auth: Query): RestCaller {
  const base = { v: '1.16.1', c: 'vitest', ...auth };
  const raw = (method: string, q: Query = {}, headers: Record<string, string> = {}) =>
    t.app.inject({ url: `/rest/${method}?${queryString({ ...base, ...q })}`, headers });
  return {
    raw,
    async json(method, q = {}) {
      const res = await raw(method, { ...q, f: 'json' });
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${res.body}`);
      // biome-ignore lint/suspicious/noExplicitAny: see above
      return (res.json() as { 'subsonic-response': Record<string, any> })['subsonic-response'];
    },
    async xml(method, q = {}) {
      const res = await raw(method, q);
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${res.body}`);
      if (!res.headers['content-type']?.toString().startsWith('text/xml'))
        throw new Error(`not XML: ${res.headers['content-type']}`);
      assertValidXml(res.body);
      return res.body;
    },
  };
}
