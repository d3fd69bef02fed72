import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conflict, NotFound, TooManyRequests, Unavailable } from '../shared/errors.js';
import { startTestServer, type TestServer } from '../test/harness.js';

let t: TestServer;
// Test-only routes are open: the access level is not what these tests are about.
const PUBLIC = { config: { access: 'public' as const } };

beforeAll(async () => {
  t = await startTestServer();
  // Routes registered by the test itself exercise the real error handler and hooks of the app.
  t.app.get('/test/not-found', PUBLIC, async () => {
    throw new NotFound('playlist', 'abc');
  });
  t.app.get('/test/conflict', PUBLIC, async () => {
    throw new Conflict('A scan is already running.');
  });
  t.app.get('/test/throttled', PUBLIC, async () => {
    throw new TooManyRequests('Too many failed sign-ins. Try again later.', 42.2);
  });
  t.app.get('/test/unavailable', PUBLIC, async () => {
    throw new Unavailable('All transcoders are busy.', { retryAfterSeconds: 3 });
  });
  t.app.get('/test/crash', PUBLIC, async () => {
    const err = new Error('SQLITE_CORRUPT at /srv/secret/earshot.db');
    throw err;
  });
  t.app.post(
    '/test/validate',
    {
      ...PUBLIC,
      schema: { body: Type.Object({ name: Type.String({ minLength: 1 }), count: Type.Integer({ minimum: 0 }) }) },
    },
    async () => ({ ok: true }),
  );
});
afterAll(async () => {
  await t.close();
});

describe('error mapping', () => {
  it('maps a domain error to its status and a problem body', async () => {
    const res = await t.app.inject({ url: '/test/not-found' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({
      status: 404,
      code: 'not_found',
      title: 'Not Found',
      detail: 'No playlist with id "abc".',
    });
    expect(res.json().requestId).toBe(res.headers['x-request-id']);
    expect((await t.app.inject({ url: '/test/conflict' })).json()).toMatchObject({ status: 409, code: 'conflict' });
  });

  it('carries Retry-After for 429 and 503', async () => {
    const throttled = await t.app.inject({ url: '/test/throttled' });
    expect(throttled.statusCode).toBe(429);
    expect(throttled.headers['retry-after']).toBe('43');
    const busy = await t.app.inject({ url: '/test/unavailable' });
    expect(busy.statusCode).toBe(503);
    expect(busy.headers['retry-after']).toBe('3');
  });

  it('answers an unexpected error with 500 and no internals', async () => {
    const res = await t.app.inject({ url: '/test/crash' });
    expect(res.statusCode).toBe(500);
    const body = res.body;
    expect(body).not.toContain('SQLITE_CORRUPT');
    expect(body).not.toContain('/srv/secret');
    expect(body).not.toMatch(/at .*\.ts:\d+/);
    expect(res.json()).toMatchObject({ status: 500, code: 'internal' });
  });

  it('lists every invalid field of a request body', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/test/validate', payload: { name: '', count: -1 } });
    expect(res.statusCode).toBe(400);
    const fields = res
      .json()
      .errors.map((e: { field: string }) => e.field)
      .sort();
    expect(fields).toEqual(['count', 'name']);
  });

  it('answers malformed JSON with 400, not 500', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/test/validate',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(res.statusCode).toBe(400);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await t.app.inject({ url: '/api/v1/definitely-not-here' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
  });
});

describe('security headers and request ids', () => {
  it('sets CSP, nosniff, frame-ancestors and referrer policy on every response', async () => {
    for (const url of ['/healthz', '/test/crash', '/nope']) {
      const res = await t.app.inject({ url });
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['content-security-policy']).toContain("media-src 'self' blob:");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
    }
  });

  it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    const kept = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'proxy-abc-12345' } });
    expect(kept.headers['x-request-id']).toBe('proxy-abc-12345');
    const replaced = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': '<script>\nx' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the OpenAPI document and its human-readable page', async () => {
    const doc = await t.app.inject({ url: '/api/v1/openapi.json' });
    expect(doc.statusCode).toBe(200);
    expect(doc.json()).toMatchObject({ openapi: '3.1.0', info: { title: 'Earshot API' } });
    expect(Object.keys(doc.json().paths)).toContain('/healthz');
    const page = await t.app.inject({ url: '/api/v1/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
  });
});
