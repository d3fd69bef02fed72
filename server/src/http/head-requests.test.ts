/**
 * HEAD answered by the GET route (head-requests.ts): what a client gets is what Fastify's own
 * HEAD routes gave it — same status and headers as GET, `content-length` of the body it would have
 * had (0 for none), no body, streams drained — while the route table holds no HEAD route per GET.
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../shared/logger.js';
import { NotFound } from '../shared/errors.js';
import { accessScope } from './access.js';
import { type App, buildHttpApp } from './app.js';
import { routeTable } from './route-table.js';

const open = { config: { access: 'public' as const } };

describe('HEAD requests (head-requests.ts)', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  /** Earshot's app with one route of each kind; `seen` records the method each handler saw. */
  async function build() {
    const seen: string[] = [];
    let drained = false;
    app = await buildHttpApp({
      logger: createLogger({ level: 'silent', format: 'json' }),
      version: 'test',
      authenticator: { authenticate: async () => null },
    });
    app.get('/json', open, async (request) => {
      seen.push(request.method);
      return { album: 'Kind of Blue', tracks: [1, 2, 3] };
    });
    app.get('/nothing', open, async (request, reply) => {
      seen.push(request.method);
      return reply.code(200).send();
    });
    app.get('/stream', open, async (request, reply) => {
      seen.push(request.method);
      const body = Readable.from(['one ', 'two ', 'three']);
      body.on('end', () => {
        drained = true;
      });
      return reply.type('text/plain').send(body);
    });
    app.get('/missing', open, async () => {
      throw new NotFound('No such album.');
    });
    app.post('/post-only', open, async () => 'posted');
    // A route that declares HEAD answers it itself (as the stream route does).
    app.route({
      method: ['GET', 'HEAD'],
      url: '/declared',
      exposeHeadRoute: false,
      config: { access: 'public' },
      handler: async (request, reply) => {
        seen.push(request.method);
        reply.header('content-length', '1234');
        return request.method === 'HEAD' ? reply.send() : reply.send('x'.repeat(1234));
      },
    });
    await app.register(accessScope('user', async (scope) => void scope.get('/private', async () => 'secret')));
    await app.ready();
    return { app, seen, drained: () => drained };
  }

  const strip = (headers: Record<string, unknown>) => {
    const { date: _d, 'x-request-id': _id, 'transfer-encoding': _te, ...rest } = headers;
    return rest;
  };

  it('answers with the GET route: same status and headers, no body, the handler sees HEAD', async () => {
    const t = await build();
    for (const url of ['/json', '/missing', '/private']) {
      const get = await t.app.inject({ method: 'GET', url });
      const head = await t.app.inject({ method: 'HEAD', url });
      expect(head.statusCode, url).toBe(get.statusCode);
      expect(strip(head.headers), url).toEqual(strip(get.headers));
      expect(head.body, url).toBe('');
    }
    expect(t.seen).toEqual(['GET', 'HEAD']);
  });

  it('a route that declares HEAD answers it itself (its own content-length stays)', async () => {
    const t = await build();
    const head = await t.app.inject({ method: 'HEAD', url: '/declared' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe('1234');
    expect(head.body).toBe('');
    expect(t.seen).toEqual(['HEAD']);
  });

  it('sets content-length 0 for no payload, drains a stream without sending it', async () => {
    const t = await build();
    const nothing = await t.app.inject({ method: 'HEAD', url: '/nothing' });
    expect(nothing.statusCode).toBe(200);
    expect(nothing.headers['content-length']).toBe('0');
    const stream = await t.app.inject({ method: 'HEAD', url: '/stream' });
    expect(stream.statusCode).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/plain/);
    expect(stream.headers['content-length']).toBeUndefined();
    expect(stream.body).toBe('');
    expect(t.drained()).toBe(true);
  });

  it('a URL with no GET route: the 404 of GET, naming HEAD', async () => {
    const t = await build();
    const get = await t.app.inject({ method: 'GET', url: '/post-only' });
    const head = await t.app.inject({ method: 'HEAD', url: '/post-only' });
    expect(get.statusCode).toBe(404);
    expect(head.statusCode).toBe(404);
    const { 'content-length': length, ...rest } = strip(head.headers);
    const { 'content-length': _, ...getRest } = strip(get.headers);
    expect(rest).toEqual(getRest);
    expect(Number(length)).toBe(Buffer.byteLength(get.body.replace('No route for GET', 'No route for HEAD')));
    expect(head.body).toBe('');
    // POST is not disturbed.
    expect((await t.app.inject({ method: 'POST', url: '/post-only' })).body).toBe('posted');
  });

  it('over a socket: the headers of GET, no body', async () => {
    const t = await build();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const call = (method: string) =>
      new Promise<{ status?: number; headers: Record<string, unknown>; body: string }>((done, fail) => {
        const req = httpRequest({ host: '127.0.0.1', port, method, path: '/json' }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
          });
          res.on('end', () => done({ status: res.statusCode, headers: res.headers, body }));
        });
        req.on('error', fail);
        req.end();
      });
    const get = await call('GET');
    const head = await call('HEAD');
    expect(head.status).toBe(200);
    expect(strip(head.headers)).toEqual(strip(get.headers));
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(get.body));
    expect(head.body).toBe('');
  });

  it('adds no HEAD route per GET route (start-up: issue 16); declared ones stay', async () => {
    const t = await build();
    const heads = routeTable(t.app).filter((r) => r.method === 'HEAD');
    expect(heads.map((r) => r.url)).toEqual(['/declared']);
    expect(routeTable(t.app).filter((r) => r.method === 'GET').length).toBeGreaterThanOrEqual(6);
  });

  it('refuses a route that answers HEAD but not GET (it could never be reached)', async () => {
    app = await buildHttpApp({
      logger: createLogger({ level: 'silent', format: 'json' }),
      version: 'test',
      authenticator: { authenticate: async () => null },
    });
    const local = app;
    expect(() => local.head('/head-only', open, async () => '')).toThrow(/must answer GET too/);
  });
});
