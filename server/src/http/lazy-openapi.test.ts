/**
 * The OpenAPI document and the docs page load @fastify/swagger and swagger-ui on first use
 * (lazy-openapi.ts), not at start-up; what they answer is what the plugins answer. (That the
 * document equals the committed one, route for route: openapi.test.ts.)
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/harness.js';

const loaded = (name: string) =>
  Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes(`/node_modules/${name}/`));

describe('OpenAPI document and docs page, loaded on first use', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
    await t.app.ready();
  });
  afterAll(() => t.close());

  it('a started server has not loaded @fastify/swagger, swagger-ui or yaml', () => {
    expect(loaded('@fastify/swagger')).toBe(false);
    expect(loaded('@fastify/swagger-ui')).toBe(false);
    expect(loaded('yaml')).toBe(false);
  });

  it('builds the document on the first request, with every documented route and the shared schemas', async () => {
    const res = await t.app.inject({ url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, unknown>; components: { schemas: object } };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/api/v1/search/local');
    expect(Object.keys(doc.components.schemas)).toContain('Track');
    // Hidden routes stay out of it (the docs page's own, /api/v1/openapi.json).
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/api/v1/docs') || p === '/api/v1/openapi.json')).toEqual(
      [],
    );
    expect(loaded('@fastify/swagger')).toBe(true);
    // The same object the next time (the plugin caches it).
    expect(t.app.swagger()).toBe(t.app.swagger());
  });

  it('serves swagger-ui anonymously: the page, its assets and the same document as JSON and YAML', async () => {
    const page = await t.app.inject({ url: '/api/v1/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toMatch(/swagger-ui/i);
    // Our security headers still apply to what the inner instance answered.
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);

    const css = await t.app.inject({ url: '/api/v1/docs/static/swagger-ui.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/text\/css/);
    expect(css.body.length).toBeGreaterThan(10_000);
    const again = await t.app.inject({
      url: '/api/v1/docs/static/swagger-ui.css',
      headers: { 'if-none-match': String(css.headers.etag) },
    });
    expect(again.statusCode).toBe(304);

    const json = await t.app.inject({ url: '/api/v1/docs/json' });
    expect(json.json()).toEqual((await t.app.inject({ url: '/api/v1/openapi.json' })).json());
    const yaml = await t.app.inject({ url: '/api/v1/docs/yaml' });
    expect(yaml.statusCode).toBe(200);
    expect(yaml.body).toMatch(/^openapi: 3\.1\.0/m);

    expect((await t.app.inject({ url: '/api/v1/docs/static/no-such-file.js' })).statusCode).toBe(404);
    expect(loaded('@fastify/swagger-ui')).toBe(true);
  });
});
