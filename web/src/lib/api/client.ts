/**
 * The one place that talks HTTP to the server: same-origin fetch with the session cookie, JSON in
 * and out, RFC 9457 problem bodies turned into `ApiError`s with a readable message, and the offline
 * fallback (library GETs answered from IndexedDB when the network is gone).
 */
import { loadResponse, saveResponse } from '../offline/store.js';
import { connection } from '../connection.svelte.js';

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

type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** A non-JSON request body (e.g. M3U text) with its content type; used instead of `body`. */
  text?: { body: string; type: string };
  signal?: AbortSignal;
  /** Keep a copy for offline browsing and answer from it when the server is unreachable. */
  offline?: boolean;
}

const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
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

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const url = buildUrl(path, options.query);
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: BodyInit | undefined;
  if (options.text) {
    headers['content-type'] = options.text.type;
    body = options.text.body;
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body, credentials: 'same-origin', signal: options.signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    connection.setOnline(false);
    if (method === 'GET' && options.offline) {
      const cached = await loadResponse(url);
      if (cached) {
        connection.markStale(cached.savedAt);
        return cached.body as T;
      }
    }
    throw new OfflineError();
  }
  connection.setOnline(true);
  if (res.status === 401 && !path.startsWith('/auth/')) for (const fn of unauthorizedListeners) fn();
  if (!res.ok) throw await problemOf(res);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  const data = (type.includes('json') ? await res.json() : await res.text()) as T;
  if (method === 'GET' && options.offline) void saveResponse(url, data);
  return data;
}

export const get = <T>(path: string, query?: Query, options: Omit<RequestOptions, 'query'> = {}) =>
  request<T>('GET', path, { ...options, query, offline: options.offline ?? true });
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, { body: body ?? {} });
export const put = <T>(path: string, body?: unknown) => request<T>('PUT', path, { body: body ?? {} });
export const patch = <T>(path: string, body?: unknown) => request<T>('PATCH', path, { body: body ?? {} });
export const del = <T>(path: string) => request<T>('DELETE', path);

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
  path: string,
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
