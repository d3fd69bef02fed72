/**
 * Route schemas compiled on first use instead of at start-up.
 *
 * Fastify compiles every route's request validators (Ajv) and response serializers
 * (fast-json-stringify) while it starts: ~1 s of CPU on a 2-core machine for Earshot's routes,
 * about half of `earshot serve`'s time to "listening", and the compiled code of routes nobody
 * calls (the admin pages, Subsonic methods a client never uses, …) stays in memory. Here each
 * compiler hands Fastify a small stand-in that compiles the real function the first time a request
 * needs it (a few ms, once per route and part), with Fastify's own default compilers and the same
 * options, so validation and serialisation are exactly what they were.
 *
 * A schema that does not compile would now fail at its route's first request (a 500) rather than
 * at start-up; `compileAllSchemas` compiles every pending one, and a test runs it over the whole
 * app so such a schema still fails the build.
 */
import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';

/** What Fastify calls a validation function: Ajv's, with `errors` and `schemaEnv` read by Fastify. */
type Validate = ((data: unknown, ctx?: unknown) => unknown) & { errors?: unknown; schemaEnv?: unknown };
type Serialize = (data: unknown) => string;
type RouteSchema = Record<string, unknown>;
type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
type CompilersFactory = NonNullable<SchemaController['compilersFactory']>;

export interface LazySchemas {
  /** The Fastify `schemaController` option. */
  schemaController: SchemaController;
  /** Compiles every schema not compiled yet; returns how many it compiled. Throws like Fastify would. */
  compileAll(): number;
}

const byApp = new WeakMap<FastifyInstance, LazySchemas>();

export function lazySchemas(): LazySchemas {
  const pending = new Set<() => unknown>();
  const defaultValidators = AjvCompiler();
  const defaultSerializers = SerializerSelector();

  function once<T>(compile: () => T): () => T {
    let real: T | undefined;
    const get = (): T => {
      if (real === undefined) {
        real = compile();
        pending.delete(get);
      }
      return real;
    };
    pending.add(get);
    return get;
  }

  // Fastify passes a snapshot of the shared schemas (`addSchema`) and the `ajv` option; the Ajv
  // instance itself is made on first use too (it costs ~50 ms with its formats).
  const buildValidator = (externalSchemas: unknown, ajvOptions: unknown) => {
    let compiler: ((route: RouteSchema) => Validate) | undefined;
    const compilerOf = () => {
      compiler ??= (defaultValidators as unknown as (s: unknown, o: unknown) => (route: RouteSchema) => Validate)(
        externalSchemas,
        ajvOptions,
      );
      return compiler;
    };
    return (route: RouteSchema): Validate => {
      // A custom compiler makes Fastify skip lower-casing header schemas (it does that only for its
      // own): a header schema must name its headers in lower case, as Node gives them.
      if (route.httpPart === 'headers') assertLowerCaseHeaders(route.schema, `${route.method} ${route.url}`);
      const real = once(() => compilerOf()(route));
      const validate = ((data: unknown, ctx?: unknown) => real()(data, ctx)) as Validate;
      // Fastify reads `schemaEnv` before each call (Ajv mutating a root value, e.g. coercing a
      // query string) and `errors` after a failed one: both are the real function's.
      Object.defineProperty(validate, 'schemaEnv', { get: () => real().schemaEnv });
      Object.defineProperty(validate, 'errors', { get: () => real().errors });
      return validate;
    };
  };

  const buildSerializer = (externalSchemas: unknown, serializerOptions: unknown) => {
    let compiler: ((route: RouteSchema) => Serialize) | undefined;
    const compilerOf = () => {
      compiler ??= (defaultSerializers as unknown as (s: unknown, o: unknown) => (route: RouteSchema) => Serialize)(
        externalSchemas,
        serializerOptions,
      );
      return compiler;
    };
    return (route: RouteSchema): Serialize => {
      const real = once(() => compilerOf()(route));
      return (data: unknown) => real()(data);
    };
  };

  return {
    // The default compilers' own signatures are wider than ours; Fastify calls them as above.
    schemaController: {
      compilersFactory: { buildValidator, buildSerializer } as unknown as CompilersFactory,
    },
    compileAll() {
      let n = 0;
      for (const get of [...pending]) {
        get();
        n++;
      }
      return n;
    },
  };
}

function assertLowerCaseHeaders(schema: unknown, route: string): void {
  const properties = (schema as { properties?: Record<string, unknown> } | null)?.properties;
  const upper = Object.keys(properties ?? {}).filter((name) => name !== name.toLowerCase());
  if (upper.length > 0)
    throw new Error(`${route}: header schema names ${upper.join(', ')}; header names must be lower case`);
}

/** Remembers an app's lazy compilers for `compileAllSchemas`. */
export function rememberLazySchemas(app: FastifyInstance, schemas: LazySchemas): void {
  byApp.set(app, schemas);
}

/** Compiles every route schema of the app not compiled yet (tests; a warm-up). */
export function compileAllSchemas(app: FastifyInstance): number {
  return byApp.get(app)?.compileAll() ?? 0;
}
