/**
 * Route schemas compiled on first use (lazy-schemas.ts): validation, coercion, defaults and
 * response serialisation behave as with Fastify's eager compilers, nothing is compiled at start-up,
 * and every schema of the real app still compiles (so a broken one fails here, not in production).
 */
import { Type } from '@sinclair/typebox';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/harness.js';
import { compileAllSchemas, lazySchemas, rememberLazySchemas } from './lazy-schemas.js';

const AJV = {
  customOptions: { removeAdditional: true, coerceTypes: 'array' as const, useDefaults: true, allErrors: true },
};

async function bareApp() {
  const schemas = lazySchemas();
  const app = Fastify({ schemaController: schemas.schemaController, ajv: AJV });
  rememberLazySchemas(app, schemas);
  app.get(
    '/items',
    {
      schema: {
        querystring: Type.Object({
          n: Type.Integer({ minimum: 1, maximum: 10 }),
          tags: Type.Array(Type.String(), { default: [] }),
          sort: Type.String({ default: 'name' }),
        }),
        response: { 200: Type.Object({ n: Type.Integer(), tags: Type.Array(Type.String()), sort: Type.String() }) },
      },
    },
    async (request) => ({ ...(request.query as object), secret: 'not in the schema' }),
  );
  app.post(
    '/echo',
    { schema: { body: Type.Object({ name: Type.String({ minLength: 2 }) }) } },
    async (request) => request.body,
  );
  return { app, schemas };
}

describe('lazy route schemas', () => {
  it('compiles nothing at start-up, then validates, coerces, fills defaults and serialises like Fastify', async () => {
    const { app, schemas } = await bareApp();
    await app.ready();
    // Nothing compiled yet: the validators of both routes and the serializer are pending.
    const ok = await app.inject({ url: '/items?n=3&tags=a' });
    expect(ok.statusCode).toBe(200);
    // Coerced integer, single value coerced to an array, default filled, extra property dropped.
    expect(ok.json()).toEqual({ n: 3, tags: ['a'], sort: 'name' });

    const bad = await app.inject({ url: '/items?n=11' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toBe('querystring/n must be <= 10');

    const badBody = await app.inject({ method: 'POST', url: '/echo', payload: { name: 'x' } });
    expect(badBody.statusCode).toBe(400);
    expect(badBody.json().message).toBe('body/name must NOT have fewer than 2 characters');
    const goodBody = await app.inject({ method: 'POST', url: '/echo', payload: { name: 'xy' } });
    expect(goodBody.json()).toEqual({ name: 'xy' });
    // HEAD /items is a route of its own (Fastify adds it), with its own schemas.
    expect((await app.inject({ method: 'HEAD', url: '/items?n=1' })).statusCode).toBe(200);

    // Everything the requests needed is compiled; nothing is left.
    expect(schemas.compileAll()).toBe(0);
    await app.close();
  });

  it('leaves every schema pending until used, and compileAll compiles them', async () => {
    const { app } = await bareApp();
    await app.ready();
    // GET /items (querystring + response 200, and its HEAD twin), POST /echo (body).
    expect(compileAllSchemas(app)).toBeGreaterThanOrEqual(3);
    expect(compileAllSchemas(app)).toBe(0);
    await app.close();
  });

  it('a schema that does not compile fails compileAll, and its route answers 500 instead of running', async () => {
    const schemas = lazySchemas();
    const app = Fastify({ schemaController: schemas.schemaController, ajv: AJV });
    let ran = false;
    app.get(
      '/broken',
      { schema: { querystring: { type: 'object', properties: { q: { type: 'nonsense' } } } } },
      async () => {
        ran = true;
        return 'ran';
      },
    );
    await app.ready();
    const res = await app.inject({ url: '/broken?q=1' });
    expect(res.statusCode).toBe(500);
    expect(ran).toBe(false);
    expect(() => schemas.compileAll()).toThrow(/nonsense|type/);
    await app.close();
  });
});

describe('header schemas', () => {
  it('validate lower-case header names, and an upper-case name is refused when the app starts', async () => {
    const schemas = lazySchemas();
    const app = Fastify({ schemaController: schemas.schemaController, ajv: AJV });
    app.get('/h', { schema: { headers: Type.Object({ 'x-token': Type.String({ minLength: 3 }) }) } }, async () => 'ok');
    await app.ready();
    expect((await app.inject({ url: '/h', headers: { 'X-Token': 'abcd' } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/h', headers: { 'X-Token': 'ab' } })).statusCode).toBe(400);
    await app.close();

    const wrong = Fastify({ schemaController: lazySchemas().schemaController, ajv: AJV });
    wrong.get('/h', { schema: { headers: Type.Object({ 'X-Token': Type.String() }) } }, async () => 'ok');
    await expect(wrong.ready()).rejects.toThrow(/header names must be lower case/);
  });
});

describe("the real app's schemas", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  it('all compile (a broken schema fails this test rather than a request)', async () => {
    await t.app.ready();
    const compiled = compileAllSchemas(t.app);
    expect(compiled).toBeGreaterThan(100);
    expect(compileAllSchemas(t.app)).toBe(0);
  });
});
