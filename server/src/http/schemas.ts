/**
 * Schema pieces every area's TypeBox schemas share: nullable fields, paging bounds and id
 * parameters. One definition each, so every route bounds `limit`/`offset` and ids the same way
 * (http/params.test.ts walks the route table to check that every integer input has a maximum).
 */
import { type TInteger, type TSchema, Type } from '@sinclair/typebox';
import { ID_PATTERN } from '../shared/ids.js';

/** `T | null`: a field that is always present but may be empty. */
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** Far beyond any real list, far below where SQLite or JS integers lose precision. */
export const MAX_OFFSET = 1_000_000_000;

export const Offset = Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0, description: 'items to skip' });

export function Limit(options: { max: number; default: number; description?: string }): TInteger {
  return Type.Integer({ minimum: 1, maximum: options.max, default: options.default, description: options.description });
}

/** An id in a URL: an opaque key, never a path (traversal and NUL are refused before the DB). */
export const Id = Type.String({ pattern: ID_PATTERN });

/** `/:id` path parameters. */
export const IdParams = Type.Object({ id: Id });
