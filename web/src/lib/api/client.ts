/**
 * The one place that talks HTTP to the server: same-origin fetch with the session cookie, JSON in
 * and out, RFC 9457 problem bodies turned into `ApiError`s with a readable message, and the offline
 * fallback (library GETs answered from IndexedDB when the network is gone).
 *
 * Calls are bound to the generated OpenAPI types by path: `get('/api/v1/albums/{id}', { path: { id } })`
 * checks that the route exists for that method, that its path parameters, query and body have the
 * route's shape, and returns the route's success response type. A route that changes shape on the
 * server (`npm run openapi`) turns every misuse into a type error here or at the call site.
 */
import { connection } from '../connection.svelte.js';
import { loadResponse, saveResponse } from '../offline/store.js';
import type { paths } from './schema.js';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly fields: { field: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export class OfflineError extends ApiError {
  constructor() {
    super('The server cannot be reached. You are offline or the server is down.', 0, 'offline');
  }
}

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Query = Record<string, string | number | boolean | null | undefined>;
type TextBody = { body: string; type: string };

/** The paths that have an operation for `M`. */
export type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P][M] extends { responses: object } ? P : never;
}[keyof paths];
/** The OpenAPI operation `M` of path `P`. */
export type Operation<P extends keyof paths, M extends Method> = paths[P][M];

type JsonOf<R> = R extends { content: { 'application/json': infer J } } ? J : undefined;
/** The JSON body of an operation's success response (200, 201 or 202; 204 is `undefined`). */
export type DataOf<O> = O extends { responses: infer R }
  ? R extends { 200: infer A }
    ? JsonOf<A>
    : R extends { 201: infer B }
      ? JsonOf<B>
      : R extends { 202: infer C }
        ? JsonOf<C>
        : undefined
  : never;

type PathPart<O> = O extends { parameters: { path: infer X } } ? { path: X } : { path?: undefined };
// Names and value types of query parameters are checked, not whether one is given: the server's
// document marks every parameter with a default (limit, offset, sort) as required, yet the server
// fills those in itself.
type QueryPart<O> = O extends { parameters: { query?: infer Q } }
  ? [NonNullable<Q>] extends [never]
    ? { query?: undefined }
    : { query?: Partial<NonNullable<Q>> }
  : { query?: undefined };
// A route whose JSON body may be a bare string (M3U import) also takes the text itself, with its
// content type, instead of JSON.
type BodyPart<O> = O extends { requestBody: { content: { 'application/json': infer B } } }
  ? string extends B
    ? { body: B; text?: undefined } | { text: TextBody; body?: undefined }
    : { body: B; text?: undefined }
  : O extends { requestBody?: { content: { 'application/json': infer B } } }
    ? [B] extends [never]
      ? { body?: undefined; text?: undefined }
      : { body?: B; text?: undefined }
    : { body?: undefined; text?: undefined };

/** What a call to operation `O` takes besides its path: path parameters, query, body, options. */
export type Init<O> = PathPart<O> &
  QueryPart<O> &
  BodyPart<O> & {
    signal?: AbortSignal;
    /** Keep a copy for offline browsing and answer from it when the server is unreachable. */
    offline?: boolean;
  };
/** The init argument is optional when nothing in it is required. */
// biome-ignore lint/complexity/noBannedTypes: `{} extends T` holds exactly when every key of T is optional.
type Args<O> = {} extends Init<O> ? [init?: Init<O>] : [init: Init<O>];

interface RawInit {
  path?: Record<string, string | number>;
  query?: Query;
  body?: unknown;
  text?: TextBody;
  signal?: AbortSignal;
  offline?: boolean;
}

const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

/** `/api/v1/albums/{id}` with `{ id }` → `/api/v1/albums/<id, URL-encoded>`. */
export function fillPath(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`missing path parameter "${key}" for ${template}`);
    return encodeURIComponent(String(value));
  });
}

export function buildUrl(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

async function problemOf(res: Response): Promise<ApiError> {
  let body: { detail?: string; title?: string; code?: string; errors?: { field: string; message: string }[] } = {};
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  const message = body.detail || body.title || `${res.status} ${res.statusText}`;
  return new ApiError(message, res.status, body.code ?? String(res.status), body.errors ?? []);
}

async function send(method: Method, template: string, init: RawInit = {}): Promise<unknown> {
  const path = fillPath(template, init.path);
  const url = buildUrl(path, init.query);
  const verb = method.toUpperCase();
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: BodyInit | undefined;
  if (init.text) {
    headers['content-type'] = init.text.type;
    body = init.text.body;
  } else if (method === 'post' || method === 'put' || method === 'patch') {
    // Always a JSON body on writes (`{}` when there is none), as the server's schemas expect.
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body ?? {});
  }
  let res: Response;
  try {
    res = await fetch(url, { method: verb, headers, body, credentials: 'same-origin', signal: init.signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    connection.setOnline(false);
    if (method === 'get' && init.offline) {
      const cached = await loadResponse(url);
      if (cached) {
        connection.markStale(cached.savedAt);
        return cached.body;
      }
    }
    throw new OfflineError();
  }
  connection.setOnline(true);
  if (res.status === 401 && !path.startsWith('/auth/')) for (const fn of unauthorizedListeners) fn();
  if (!res.ok) throw await problemOf(res);
  if (res.status === 204) return undefined;
  const type = res.headers.get('content-type') ?? '';
  const data: unknown = type.includes('json') ? await res.json() : await res.text();
  if (method === 'get' && init.offline) void saveResponse(url, data);
  return data;
}

function caller<M extends Method>(method: M) {
  return <P extends PathsWith<M>>(path: P, ...[init]: Args<Operation<P, M>>) =>
    send(method, path, init as RawInit) as Promise<DataOf<Operation<P, M>>>;
}

/**
 * GET a route. Library reads are kept for offline browsing unless `offline: false` is given
 * (account, admin and live data: a stale copy of those would mislead).
 */
export const get = <P extends PathsWith<'get'>>(path: P, ...[init]: Args<Operation<P, 'get'>>) =>
  send('get', path, { ...(init as RawInit), offline: (init as RawInit | undefined)?.offline ?? true }) as Promise<
    DataOf<Operation<P, 'get'>>
  >;
export const post = caller('post');
export const put = caller('put');
export const patch = caller('patch');
export const del = caller('delete');

/** Human message for any error thrown by the service layer. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * GETs an NDJSON endpoint and hands each parsed line to `onLine` as it arrives (federated search
 * streams the local section first, then each provider as it answers).
 */
export async function streamNdjson<T>(
  path: PathsWith<'get'>,
  query: Query,
  onLine: (line: T) => void,
  signal?: AbortSignal,
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(buildUrl(path, query), {
      headers: { accept: 'application/x-ndjson' },
      credentials: 'same-origin',
      signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    connection.setOnline(false);
    throw new OfflineError();
  }
  connection.setOnline(true);
  if (res.status === 401) for (const fn of unauthorizedListeners) fn();
  if (!res.ok) throw await problemOf(res);
  if (!res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) onLine(JSON.parse(line) as T);
      nl = buffer.indexOf('\n');
    }
  }
  if (buffer.trim()) onLine(JSON.parse(buffer) as T);
}
