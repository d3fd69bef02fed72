/**
 * Serves the built web app (web/dist) from the server:
 * - hashed build output under /assets/ is immutable (cached for a year);
 * - index.html, the service worker and the manifest are never cached, so a new build is picked up
 *   on the next load;
 * - history-mode routing: any other GET that accepts HTML and is not an API surface gets index.html.
 *
 * Registered LAST in main.ts. It adds one wildcard route; find-my-way always prefers the more
 * specific routes of the other areas, and anything under an API prefix (or not asking for HTML)
 * goes to the normal JSON 404 handler via `reply.callNotFound()`.
 *
 * The files are read into memory once at start-up (the whole build is a few hundred KB), so
 * serving never touches the disk or follows a path from the URL. A compressible file's gzip copy is
 * made the first time a client asks for it and kept: compressing the whole build at level 9 was
 * ~25 ms of every start-up (issue 16), and a file nobody fetches never needs it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../shared/logger.js';

/** Paths that belong to the server; they never fall back to the SPA. */
export const NON_SPA_PREFIXES = ['/api/', '/auth/', '/stream/', '/share/', '/rest/', '/system/'];
export const NON_SPA_PATHS = [
  '/api',
  '/auth',
  '/stream',
  '/share',
  '/rest',
  '/system',
  '/healthz',
  '/readyz',
  '/metrics',
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.webmanifest', '.svg', '.txt', '.map']);

const IMMUTABLE = 'public, max-age=31536000, immutable';
const NO_CACHE = 'no-cache';

interface StaticFile {
  body: Buffer;
  compressible: boolean;
  /** The gzip copy: undefined until first asked for, null when it would not be smaller. */
  gzip?: Buffer | null;
  type: string;
  etag: string;
  cacheControl: string;
}

/** web/dist relative to this module: server/src/http or server/dist/http → ../../../web/dist. */
export function defaultWebDist(): string {
  return fileURLToPath(new URL('../../../web/dist/', import.meta.url));
}

export function loadWebBuild(root: string): Map<string, StaticFile> | null {
  if (!existsSync(join(root, 'index.html'))) return null;
  const files = new Map<string, StaticFile>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && statSync(full).size < 20 * 1024 * 1024) {
        const urlPath = `/${relative(root, full).split(sep).join('/')}`;
        const ext = extname(entry.name).toLowerCase();
        const body = readFileSync(full);
        files.set(urlPath, {
          body,
          compressible: COMPRESSIBLE.has(ext) && body.length > 512,
          type: TYPES[ext] ?? 'application/octet-stream',
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
          cacheControl: urlPath.startsWith('/assets/') ? IMMUTABLE : NO_CACHE,
        });
      }
    }
  };
  walk(root);
  return files;
}

function isServerPath(path: string): boolean {
  return NON_SPA_PATHS.includes(path) || NON_SPA_PREFIXES.some((p) => path.startsWith(p));
}

function acceptsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (!accept) return false;
  return accept.includes('text/html') || accept.includes('application/xhtml+xml');
}

/** The file's gzip copy, made on first use; null when the file is not worth compressing. */
function gzipped(file: StaticFile): Buffer | null {
  if (file.gzip === undefined) {
    const gzip = file.compressible ? gzipSync(file.body, { level: 9 }) : null;
    file.gzip = gzip && gzip.length < file.body.length ? gzip : null;
  }
  return file.gzip;
}

function send(request: FastifyRequest, reply: FastifyReply, file: StaticFile) {
  reply.header('cache-control', file.cacheControl);
  reply.header('etag', file.etag);
  reply.header('vary', 'accept-encoding');
  reply.type(file.type);
  const inm = request.headers['if-none-match'];
  if (typeof inm === 'string' && inm.split(/\s*,\s*/).includes(file.etag)) return reply.status(304).send();
  const acceptEncoding = request.headers['accept-encoding'];
  const gzip = typeof acceptEncoding === 'string' && /\bgzip\b/.test(acceptEncoding) ? gzipped(file) : null;
  if (gzip) {
    reply.header('content-encoding', 'gzip');
    return reply.send(gzip);
  }
  return reply.send(file.body);
}

export interface WebAppOptions {
  logger: Logger;
  /** Folder of the built SPA; defaults to web/dist next to the server. */
  root?: string;
}

export function registerWebApp(app: FastifyInstance, options: WebAppOptions): void {
  const root = options.root ?? defaultWebDist();
  if (!existsSync(join(root, 'index.html'))) {
    options.logger.warn(
      { area: 'web', root },
      'web app is not built (no index.html): the API works, the browser UI does not. Run `npm run build -w web`.',
    );
    return;
  }
  // Read on the first request for the app, not during start-up (issue 16); a build replaced
  // while the server runs is still picked up only by a restart, as before.
  let build: { files: Map<string, StaticFile>; index: StaticFile } | null = null;
  const loaded = () => {
    if (!build) {
      const files = loadWebBuild(root);
      const index = files?.get('/index.html');
      if (!files || !index) return null;
      build = { files, index };
      options.logger.debug({ area: 'web', root, files: files.size }, 'serving the web app');
    }
    return build;
  };

  app.get('/*', { schema: { hide: true }, config: { access: 'public' } }, (request, reply) => {
    const path = decodeURIComponentSafe(request.url.split('?')[0] ?? '/');
    if (path === null || isServerPath(path)) return reply.callNotFound();
    const web = loaded();
    if (!web) return reply.callNotFound();
    const { files, index } = web;
    // The app shell itself is always index.html, whatever the Accept header (the service worker
    // precaches it with a plain fetch).
    if (path === '/' || path === '/index.html') return send(request, reply, index);
    const file = files.get(path);
    if (file) return send(request, reply, file);
    // Missing hashed asset or a file-looking path: a real 404, never index.html (a stale tab
    // asking for an old chunk must fail loudly, not parse HTML as JavaScript).
    if (path.startsWith('/assets/') || !acceptsHtml(request)) return reply.callNotFound();
    return send(request, reply, index);
  });
}

function decodeURIComponentSafe(path: string): string | null {
  try {
    return decodeURIComponent(path);
  } catch {
    return null;
  }
}
