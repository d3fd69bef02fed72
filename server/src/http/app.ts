/**
 * Builds the Fastify instance with the cross-cutting plugins every route relies on: request ids,
 * logging, security headers, cookies, form bodies, authentication, error mapping, OpenAPI.
 * Area routes are registered by the composition root (main.ts), not here.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import type { Logger } from '../shared/logger.js';
import { accessScope, decorateAuthRequest, requireAccessLevels } from './access.js';
import { registerErrorHandling } from './error-handler.js';
import { registerHeadRequests, routeHeadAsGet } from './head-requests.js';
import { registerHostCheck } from './host-check.js';
import { lazySwaggerUi, registerLazyOpenApi } from './lazy-openapi.js';
import { lazySchemas, rememberLazySchemas } from './lazy-schemas.js';
import { registerStrictNumbers } from './params.js';
import { lazyChildLogger } from './request-logger.js';
import { recordRoutes } from './route-table.js';
import { registerSecurityHeaders } from './security-headers.js';

export interface HttpOptions {
  logger: Logger;
  version: string;
  publicUrl?: string;
  /** Resolves the caller (accounts/authenticator.ts); null when anonymous. */
  authenticator: { authenticate(request: FastifyRequest): Promise<FastifyRequest['user']> };
  /** Resolves the client address (trusted-proxy aware). Defaults to the socket address. */
  clientIp?: (request: IncomingMessage) => string;
  /** Host names answered besides IP literals, localhost and the public URL's (DNS rebinding). */
  allowedHosts?: readonly string[];
  /** Test hook: extra options for Fastify. */
  bodyLimit?: number;
}

export type App = FastifyInstance;

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

export async function buildHttpApp(options: HttpOptions): Promise<App> {
  // Route schemas compile on first use (http/lazy-schemas.ts): half of start-up otherwise.
  const schemas = lazySchemas();
  const app = Fastify({
    schemaController: schemas.schemaController,
    loggerInstance: options.logger as FastifyBaseLogger,
    // Accept a proxy's request id only when it looks like one; otherwise make our own.
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    bodyLimit: options.bodyLimit ?? 2 * 1024 * 1024,
    // Slow-header and slow-body clients are cut (streaming/sockets.test.ts); long responses (streams) are not.
    connectionTimeout: 0,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    http: { headersTimeout: 15_000 },
    return503OnClosing: true,
    // No watchdog timer per plugin: avvio arms (and clears) one for every `register` and for every
    // route's `after` (~350 at start-up, issue 16). Every plugin here only registers routes and
    // hooks; none waits on I/O, so none can hang.
    pluginTimeout: 0,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // HEAD is answered by the GET route of the URL, not by a HEAD route added beside each GET
    // route (http/head-requests.ts: start-up, issue 16).
    exposeHeadRoutes: false,
    rewriteUrl: routeHeadAsGet,
    // Fastify's two info lines per request cost ~15 % of a cached search's CPU (JSON to stdout);
    // requests are logged at debug below instead, errors by the error handler as before. (Through
    // the log controller: the top-level `disableRequestLogging` is deprecated, FSTDEP023.)
    logController: new LogController({ disableRequestLogging: true }),
    // Each request's child logger is made when it first writes a line (http/request-logger.ts).
    childLoggerFactory: lazyChildLogger,
    ajv: { customOptions: { removeAdditional: true, coerceTypes: 'array', useDefaults: true, allErrors: true } },
  });
  rememberLazySchemas(app, schemas);
  // Before any other hook: a HEAD request looked up as GET gets its method back.
  registerHeadRequests(app);

  // Callback-style (not async) hooks on the hot path: no promise per request.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });

  // One line per request at debug (EARSHOT_LOG_LEVEL=debug), after the response; pino's debug is a
  // no-op function at the default level.
  app.addHook('onResponse', (request, reply, done) => {
    request.log.debug(
      { req: request, statusCode: reply.statusCode, responseTime: reply.elapsedTime },
      'request completed',
    );
    done();
  });

  registerSecurityHeaders(app, { https: options.publicUrl?.startsWith('https://') ?? false });
  registerErrorHandling(app);
  // First hook of all (after the HEAD one above): a request for a host name we are not known by never reaches a route.
  registerHostCheck(app, { publicUrl: options.publicUrl, allowedHosts: options.allowedHosts ?? [] });
  // Before any route: numbers sent as text must be plain decimals (`0x10` is not 16).
  registerStrictNumbers(app);
  recordRoutes(app);

  await app.register(cookie);
  await app.register(formbody);

  const clientIp = options.clientIp ?? ((req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown');
  decorateAuthRequest(app);
  app.addHook('onRequest', async (request) => {
    request.clientIp = clientIp(request.raw);
    request.user = await options.authenticator.authenticate(request);
  });
  // Each route's access level is enforced by the hook of the access scope it is registered in
  // (http/access.ts); a route outside every scope without a level keeps the server from starting.
  requireAccessLevels(app);

  // @fastify/swagger and swagger-ui are loaded on first use (lazy-openapi.ts): not at start-up.
  registerLazyOpenApi(app, {
    // Shared schemas (Track, Album, Artist …) become named components instead of def-0, def-1 ….
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Earshot API',
        version: options.version,
        description:
          'Native JSON API of Earshot, the self-hosted music server. Authenticate with the web session cookie or `Authorization: Bearer <access token>` from `POST /auth/token`.',
      },
      servers: options.publicUrl ? [{ url: options.publicUrl }] : [],
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'earshot_session' },
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
      security: [{ session: [] }, { bearer: [] }],
    },
  });
  // The API documentation is public (it describes routes, it opens none).
  await app.register(
    accessScope(
      'public',
      lazySwaggerUi({
        routePrefix: '/api/v1/docs',
        uiConfig: { docExpansion: 'list', deepLinking: true, validatorUrl: null },
        staticCSP: false,
        // swagger-ui's bundle needs inline styles and its own initializer script from 'self'.
        transformSpecificationClone: true,
      }),
    ),
  );
  app.get('/api/v1/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () => app.swagger());

  return app;
}
