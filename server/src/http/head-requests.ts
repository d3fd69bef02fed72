/**
 * HEAD is answered by the GET route of the same URL, without a HEAD route per GET route.
 *
 * Fastify's default (`exposeHeadRoutes`) adds a HEAD route beside every GET route as it is
 * registered: a second router insertion, route context, avvio `after` entry and set of bound hooks
 * for each of Earshot's 60 GET routes, ~4 % of `earshot serve`'s start-up instructions (issue 16), for a
 * method clients rarely send. Here the app is built with `exposeHeadRoutes: false` and:
 *
 * - the `rewriteUrl` option ({@link routeHeadAsGet}), which runs before the router, has a HEAD
 *   request looked up as a GET and marks it;
 * - the first `onRequest` hook of all ({@link registerHeadRequests}) gives it back its method, so
 *   hooks, handlers, logs and Fastify's reply code see `HEAD` as before (a handler that streams
 *   sends no body on HEAD; Node sends none anyway: the response knew its request was HEAD);
 * - an `onSend` hook does for such requests what Fastify's own HEAD routes did (its
 *   `headRouteOnSendHandler`): a `content-length` of the payload (0 when there is none), a
 *   stream drained, no payload. Routes that declare HEAD themselves (`method: ['GET', 'HEAD']`,
 *   the stream and share routes) answer it on their own terms, as before; a URL with no GET route
 *   gets the same 404 as before.
 *
 * A route that declares HEAD without GET would never be reached: registering one throws.
 * This `onSend` hook is a root hook, so it runs before the `onSend` hooks of scopes and routes
 * (Fastify's ran after them): those see the payload emptied on a HEAD request. None reads it today.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, RouteOptions } from 'fastify';

const HEAD_AS_GET = Symbol('earshot.headAsGet');
type Marked = IncomingMessage & { [HEAD_AS_GET]?: true };

/** Fastify's `rewriteUrl` option: a HEAD request is routed as a GET (and marked). URL unchanged. */
export function routeHeadAsGet(req: IncomingMessage): string {
  if (req.method === 'HEAD') {
    req.method = 'GET';
    (req as Marked)[HEAD_AS_GET] = true;
  }
  return req.url as string;
}

function declaresHead(method: RouteOptions['method'] | undefined): boolean {
  return Array.isArray(method) ? method.includes('HEAD') : method === 'HEAD';
}

function declaresGet(method: RouteOptions['method'] | undefined): boolean {
  return Array.isArray(method) ? method.includes('GET') : method === 'GET';
}

/**
 * Call first on the root instance, before any other hook and any route (the app must be built with
 * `exposeHeadRoutes: false` and `rewriteUrl: routeHeadAsGet`).
 */
export function registerHeadRequests(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (declaresHead(route.method) && !declaresGet(route.method))
      throw new Error(`${route.url}: a route that answers HEAD must answer GET too (HEAD is looked up as GET)`);
  });
  // Callback style (no promise per request), and first of all: every later hook sees the method.
  app.addHook('onRequest', (request, _reply, done) => {
    const raw = request.raw as Marked;
    if (raw[HEAD_AS_GET]) raw.method = 'HEAD';
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    const own = !(request.raw as Marked)[HEAD_AS_GET] || request.is404 || declaresHead(request.routeOptions.method);
    done(null, own ? payload : headPayload(reply, payload));
  });
}

/**
 * What Fastify's HEAD routes do to the GET handler's payload (fastify/lib/head-route.js): sets
 * `content-length` (0 for no payload; none for a stream, which is drained) and sends nothing.
 */
function headPayload(reply: FastifyReply, payload: unknown): null {
  const stream = payload as {
    resume?: () => void;
    on?: (event: string, listener: (err: Error) => void) => void;
    getReader?: unknown;
    cancel?: (reason: string) => Promise<void>;
  };
  if (payload === undefined) reply.header('content-length', '0');
  else if (typeof stream.resume === 'function') {
    stream.on?.('error', (err) => reply.log.error({ err }, 'Error on Stream found for HEAD route'));
    stream.resume();
  } else if (typeof stream.getReader === 'function') {
    stream.cancel?.('Stream cancelled by HEAD route').catch((err: unknown) => {
      reply.log.error({ err }, 'Error on Stream found for HEAD route');
    });
  } else reply.header('content-length', String(Buffer.byteLength(payload as string | Buffer)));
  return null;
}
