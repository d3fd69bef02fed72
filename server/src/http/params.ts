/**
 * The strict-decimal rule for integer values that arrive as text (query string, path, form bodies);
 * the bounded `Limit`/`Offset` every route uses are in http/schemas.ts.
 *
 * Why both: Ajv's type coercion turns any string `x` with `x == +x` into a number, so `0x10`, ` 16`,
 * `1e3` and `0b11` were accepted as integers, and an unbounded `offset` of 20 digits, `1e308` or
 * 2^63 reached SQLite as a float ("datatype mismatch" → 500). Every integer in an input schema
 * now has a maximum (a test walks the route table to keep it so), and {@link registerStrictNumbers}
 * rejects, before validation, textual numbers that are not plain decimals.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { Invalid } from '../shared/errors.js';

const DECIMAL_INTEGER = /^-?\d{1,16}$/;
const DECIMAL_NUMBER = /^-?\d{1,16}(\.\d{1,16})?$/;

type JsonSchema = Record<string, unknown>;

/** Names of the top-level properties of an object schema that are numbers, with their kind. */
export function numericProperties(schema: unknown): Map<string, 'integer' | 'number'> {
  const out = new Map<string, 'integer' | 'number'>();
  const visit = (s: unknown) => {
    if (!s || typeof s !== 'object') return;
    const node = s as JsonSchema;
    for (const key of ['anyOf', 'allOf', 'oneOf'] as const) {
      if (Array.isArray(node[key])) for (const sub of node[key] as unknown[]) visit(sub);
    }
    const props = node.properties as Record<string, JsonSchema> | undefined;
    if (!props) return;
    for (const [name, prop] of Object.entries(props)) {
      const kind = numericKind(prop);
      if (kind) out.set(name, kind);
    }
  };
  visit(schema);
  return out;
}

function numericKind(schema: JsonSchema): 'integer' | 'number' | null {
  if (schema.type === 'integer') return 'integer';
  if (schema.type === 'number') return 'number';
  for (const key of ['anyOf', 'oneOf'] as const) {
    const subs = schema[key];
    if (Array.isArray(subs)) {
      for (const sub of subs as JsonSchema[]) {
        const kind = numericKind(sub);
        if (kind) return kind;
      }
    }
  }
  return null;
}

function checkText(where: string, values: unknown, fields: Map<string, 'integer' | 'number'>): void {
  if (!values || typeof values !== 'object') return;
  for (const [name, kind] of fields) {
    const raw = (values as Record<string, unknown>)[name];
    const list = Array.isArray(raw) ? raw : [raw];
    for (const v of list) {
      if (typeof v !== 'string') continue;
      if (!(kind === 'integer' ? DECIMAL_INTEGER : DECIMAL_NUMBER).test(v)) {
        throw new Invalid(`${where} ${name} must be a plain decimal ${kind} (got "${v.slice(0, 40)}")`, {
          field: name,
        });
      }
    }
  }
}

/**
 * Adds, to every route declared after it, a `preValidation` check that numeric parameters sent as
 * text are plain decimals. Register before any route.
 */
export function registerStrictNumbers(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as { querystring?: unknown; params?: unknown; body?: unknown } | undefined;
    if (!schema) return;
    const query = numericProperties(schema.querystring);
    const params = numericProperties(schema.params);
    const body = numericProperties(schema.body);
    if (query.size + params.size + body.size === 0) return;
    const check = async (request: FastifyRequest) => {
      checkText('query parameter', request.query, query);
      checkText('path parameter', request.params, params);
      checkText('body field', request.body, body);
    };
    const existing = route.preValidation;
    route.preValidation = existing ? [check, ...(Array.isArray(existing) ? existing : [existing])] : [check];
  });
}
