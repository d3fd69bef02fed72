/**
 * The OpenAPI document and the API docs page, loaded on first use instead of at start-up.
 *
 * @fastify/swagger builds the document from every route's options, which it collects with an
 * `onRoute` hook; registering it loads its spec builder, `yaml` and a JSON-schema resolver
 * (~100 CommonJS files), and @fastify/swagger-ui loads its own @fastify/static, `glob` and
 * `yaml` again: together ~15 % of `earshot serve`'s start-up CPU on a phone-class machine, for
 * pages almost nobody opens (issue 16). Here the routes' options, the plugin contexts and their
 * shared schemas are recorded at start-up (cheap: references), and the first `app.swagger()`
 * call hands them to the real @fastify/swagger plugin, replayed through the same hooks it
 * would have used — the document is the one it always produced (`openapi.test.ts`,
 * `npm run openapi`). The docs page (`/api/v1/docs…`) is served by swagger-ui in an inner
 * Fastify instance built on the first request, whose answers are passed through unchanged.
 */
import { createRequire } from 'node:module';
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui';
import Fastify, {
  type FastifyInstance,
  type FastifyPluginCallback,
  type FastifyReply,
  type FastifyRequest,
  type RouteOptions,
} from 'fastify';
import type { SwaggerOptions } from '@fastify/swagger';

/** CommonJS packages loaded on first use (synchronously: `app.swagger()` is synchronous). */
const load = createRequire(import.meta.url);

type SwaggerFn = FastifyInstance['swagger'];
type Hook = (...args: unknown[]) => unknown;

/**
 * Records what @fastify/swagger needs and decorates `app.swagger()`, which builds the document
 * the first time it is called (after `ready()`, as with the plugin itself).
 */
export function registerLazyOpenApi(app: FastifyInstance, options: SwaggerOptions): void {
  const routes: RouteOptions[] = [];
  let instances: FastifyInstance[] = [];
  /** Each plugin context's shared schemas, read once the app is ready (the plugin does the same). */
  let contextSchemas: Array<Record<string, unknown>> | null = null;
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  app.addHook('onRegister', (instance) => {
    instances.push(instance);
  });
  app.addHook('onReady', (done) => {
    contextSchemas = instances.map((i) => i.getSchemas());
    instances = [];
    done();
  });

  let built: SwaggerFn | null = null;
  const build = (): SwaggerFn => {
    if (!contextSchemas) throw new Error('.swagger() must be called after .ready()');
    // The plugin function itself (fastify-plugin's wrapper is a plain function of the same shape).
    const plugin = load('@fastify/swagger') as FastifyPluginCallback<SwaggerOptions>;
    const hooks = new Map<string, Hook[]>();
    let swagger: SwaggerFn | undefined;
    // The part of the Fastify instance the plugin touches in its default (dynamic) mode.
    const shim = {
      addHook(name: string, fn: Hook) {
        hooks.set(name, [...(hooks.get(name) ?? []), fn]);
      },
      decorate(name: string, fn: SwaggerFn) {
        if (name === 'swagger') swagger = fn;
      },
      getSchemas: () => app.getSchemas(),
    };
    plugin(shim as unknown as FastifyInstance, { ...options }, (err) => {
      if (err) throw err;
    });
    const run = (name: string, ...args: unknown[]) => {
      for (const fn of hooks.get(name) ?? []) fn(...args);
    };
    for (const route of routes) run('onRoute', route);
    for (const schemas of contextSchemas) run('onRegister', { getSchemas: () => schemas });
    run('onReady', () => {});
    if (!swagger) throw new Error('@fastify/swagger did not decorate swagger()');
    return swagger;
  };
  const swagger = ((opts?: { yaml?: boolean }) => {
    built ??= build();
    return (built as (o?: { yaml?: boolean }) => unknown)(opts);
  }) as SwaggerFn;
  app.decorate('swagger', swagger);
}

/**
 * `GET {prefix}` and `GET {prefix}/*`: swagger-ui, built in an inner instance on the first
 * request (its document is this app's `swagger()`). Register inside the scope that decides who
 * may read it.
 */
export function lazySwaggerUi(options: FastifySwaggerUiOptions & { routePrefix: string }) {
  return async (scope: FastifyInstance) => {
    const root = scope;
    let inner: Promise<FastifyInstance> | null = null;
    const start = async () => {
      const ui = load('@fastify/swagger-ui') as FastifyPluginCallback<FastifySwaggerUiOptions>;
      const app = Fastify({ routerOptions: { ignoreTrailingSlash: true } });
      // swagger-ui declares a dependency on a plugin named '@fastify/swagger': this stands in for
      // it, answering with the outer app's document.
      const provider = ((instance: FastifyInstance, _o: unknown, done: () => void) => {
        instance.decorate('swagger', ((o?: { yaml?: boolean }) => root.swagger(o as never)) as SwaggerFn);
        done();
      }) as FastifyPluginCallback & Record<symbol, unknown>;
      provider[Symbol.for('skip-override')] = true;
      provider[Symbol.for('fastify.display-name')] = '@fastify/swagger';
      provider[Symbol.for('plugin-meta')] = { name: '@fastify/swagger' };
      await app.register(provider);
      await app.register(ui, options);
      await app.ready();
      return app;
    };
    const forward = async (request: FastifyRequest, reply: FastifyReply) => {
      inner ??= start().catch((err: unknown) => {
        inner = null;
        throw err;
      });
      const app = await inner;
      const headers: Record<string, string> = {};
      for (const name of ['accept', 'accept-encoding', 'if-none-match', 'if-modified-since', 'range']) {
        const value = request.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      const res = await app.inject({ method: request.method as 'GET' | 'HEAD', url: request.url, headers });
      for (const [name, value] of Object.entries(res.headers)) {
        if (value === undefined || ['connection', 'keep-alive', 'transfer-encoding', 'date'].includes(name)) continue;
        reply.header(name, value);
      }
      return reply.code(res.statusCode).send(res.rawPayload);
    };
    const route = { schema: { hide: true } };
    scope.get(options.routePrefix, route, forward);
    scope.get(`${options.routePrefix}/*`, route, forward);
    scope.addHook('onClose', async () => {
      if (inner) await (await inner.catch(() => null))?.close();
    });
  };
}
