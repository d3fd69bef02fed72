/**
 * Byte-range serving of a file on disk (RFC 9110 §14): single ranges → 206, unsatisfiable ones →
 * 416 with a `Content-Range` of star and the size, `If-Range` (strong ETag or exact HTTP date), `ETag`,
 * `Last-Modified`, `If-None-Match` → 304, `HEAD`. Multi-range and malformed or abusive headers are
 * ignored (200 with the whole body): a multipart response is never built (range.test.ts, http/fuzz.test.ts).
 *
 * Exported for the remote-sources area, which serves cache hits and finished downloads with it.
 *
 * @example await serveFile(request, reply, { path: '/data/library/a.mp3', contentType: 'audio/mpeg' });
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { NotFound, RangeNotSatisfiable } from '../shared/errors.js';

export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/** Longer Range headers are abuse, not a client that needs them; they get the whole file. */
const MAX_RANGE_HEADER = 200;
const SINGLE_RANGE = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i;

/** Decides what a `Range` header asks of a file of `size` bytes. Pure: no I/O. */
export function parseRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined || header.length > MAX_RANGE_HEADER) return { kind: 'full' };
  // Multi-range (`bytes=0-1,5-9`) is legal but we answer it with the whole representation.
  if (header.includes(',')) return { kind: 'full' };
  const m = SINGLE_RANGE.exec(header);
  if (!m) return { kind: 'full' };
  const [, first, last] = m;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    // Suffix range: the last N bytes. `bytes=-0` asks for nothing, which no file can satisfy.
    const n = Number(last);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Number.POSITIVE_INFINITY : Number(last);
  // `bytes=5-1` is syntactically invalid (RFC 9110 §14.1.1): the header is ignored.
  if (end < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}

export interface FileValidators {
  etag: string;
  lastModified: string;
}

export function validatorsFor(size: number, mtimeMs: number): FileValidators {
  return {
    etag: `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`,
    lastModified: new Date(mtimeMs).toUTCString(),
  };
}

/** `If-Range` holds when it names this exact representation (strong ETag, or the same date). */
export function ifRangeMatches(ifRange: string | undefined, v: FileValidators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === v.etag; // weak tags never match
  const date = Date.parse(value);
  return Number.isFinite(date) && date === Date.parse(v.lastModified);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

export interface ServeFileOptions {
  path: string;
  contentType: string;
  /** Extra headers (cache policy, content disposition …). */
  headers?: Record<string, string>;
  /** Default `private, max-age=0, must-revalidate`: media URLs are behind auth. */
  cacheControl?: string;
}

/**
 * Serves `options.path` for this request. The file is opened once and both the size and the
 * bytes come from that descriptor, so a file replaced mid-request cannot produce a torn answer.
 * Throws NotFound when the file is missing (the caller decides whether that is a 404 or a re-fetch).
 */
export async function serveFile(
  request: FastifyRequest,
  reply: FastifyReply,
  options: ServeFileOptions,
): Promise<FastifyReply> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(options.path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR') {
      throw new NotFound('file');
    }
    throw err;
  }
  let handedOff = false;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new NotFound('file');
    const size = stat.size;
    const v = validatorsFor(size, stat.mtimeMs);
    reply.header('accept-ranges', 'bytes');
    reply.header('etag', v.etag);
    reply.header('last-modified', v.lastModified);
    reply.header('cache-control', options.cacheControl ?? 'private, max-age=0, must-revalidate');
    for (const [k, value] of Object.entries(options.headers ?? {})) reply.header(k, value);

    const rangeHeader = request.headers.range;
    if (rangeHeader === undefined && noneMatch(request.headers['if-none-match'], v.etag)) {
      return reply.code(304).send();
    }
    let decision = parseRange(rangeHeader, size);
    if (decision.kind !== 'full' && !ifRangeMatches(headerValue(request.headers['if-range']), v))
      decision = { kind: 'full' };
    if (decision.kind === 'unsatisfiable') throw new RangeNotSatisfiable(size);

    const start = decision.kind === 'partial' ? decision.start : 0;
    const end = decision.kind === 'partial' ? decision.end : size - 1;
    const length = size === 0 ? 0 : end - start + 1;
    reply.type(options.contentType);
    reply.header('content-length', String(length));
    if (decision.kind === 'partial') {
      reply.code(206);
      reply.header('content-range', `bytes ${start}-${end}/${size}`);
    } else {
      reply.code(200);
    }
    if (request.method === 'HEAD' || length === 0) return reply.send();
    const stream = createReadStream('', { fd: handle, start, end, autoClose: true, highWaterMark: 256 * 1024 });
    handedOff = true;
    return reply.send(stream);
  } finally {
    if (!handedOff) await handle.close();
  }
}
