/**
 * Prometheus metrics: process defaults (prefixed `earshot_`, event-loop lag included), HTTP
 * request counts and durations, and every area's measurements (shared/telemetry.ts).
 *
 * `/metrics` is not on the public door (metrics.test.ts): on the main port it answers only a
 * request carrying `Authorization: Bearer <EARSHOT_METRICS_TOKEN>`; everyone else gets the same
 * 404 as an unknown path, so a tunnel does not even reveal that metrics exist. A separate listener
 * (`EARSHOT_METRICS_ADDR`, e.g. 127.0.0.1:9464 or the pod address) serves them to a scraper that
 * can reach that address; it too wants the token when one is set.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { statSync, statfsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { AnyDatabase } from '../db/engine.js';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { DataPaths } from '../shared/fs-paths.js';
import type { Logger } from '../shared/logger.js';
import { telemetry } from '../shared/telemetry.js';

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'earshot_' });
  return registry;
}

export interface MetricsOptions {
  registry: Registry;
  token?: string;
  /** `host:port` of a separate listener, or undefined for none. */
  addr?: string;
  /** Job gauges read through Kysely; the size gauges per engine (files, or pg_database_size). */
  database: AnyDatabase;
  paths: DataPaths;
  logger: Logger;
}

/** Constant-time comparison of the presented bearer token (hashes make the lengths equal). */
function bearerMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token) return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}

/** `127.0.0.1:9464`, `[::1]:9464`, `0.0.0.0:9464` or `:9464` (all interfaces). */
export function parseListenAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new Error(`EARSHOT_METRICS_ADDR must look like 127.0.0.1:9464, not "${addr}".`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/**
 * Scrape-time readings of things nobody "records": the database's size, free space, queued jobs.
 * Exported for metrics-readers.test.ts (both engines). Returns the unregister function.
 */
export function registerReaders(database: AnyDatabase, paths: DataPaths): () => void {
  const size = (file: string) => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  const dirs = { data: paths.dataDir, music: paths.musicDir, cache: paths.cacheDir, db: paths.dbDir };
  const disk = (pick: (s: { bavail: number; blocks: number; bsize: number }) => number) => () =>
    Object.entries(dirs).flatMap(([dir, path]) => {
      try {
        return [{ labels: { dir }, value: pick(statfsSync(path)) }];
      } catch {
        return [];
      }
    });
  const { db } = database;
  const sizeGauges =
    database.engine === 'sqlite'
      ? [
          telemetry.gauge('earshot_sqlite_bytes', () => size(paths.dbFile)),
          telemetry.gauge('earshot_sqlite_wal_bytes', () => size(`${paths.dbFile}-wal`)),
          telemetry.gauge('earshot_database_bytes', () => size(paths.dbFile) + size(`${paths.dbFile}-wal`)),
        ]
      : [
          telemetry.gauge('earshot_database_bytes', async () => {
            const { rows } = await sql<{
              bytes: number;
            }>`select pg_database_size(current_database()) as bytes`.execute(db);
            return Number(rows[0]?.bytes ?? 0);
          }),
        ];
  const off = [
    ...sizeGauges,
    telemetry.gauge(
      'earshot_disk_free_bytes',
      disk((s) => s.bavail * s.bsize),
    ),
    telemetry.gauge(
      'earshot_disk_size_bytes',
      disk((s) => s.blocks * s.bsize),
    ),
    telemetry.gauge('earshot_jobs', async () => {
      const rows = await db
        .selectFrom('jobs')
        .select((eb) => ['type', 'state', eb.fn.countAll<number>().as('n')])
        .where('state', 'in', ['queued', 'running'])
        .groupBy(['type', 'state'])
        .execute();
      return rows.map((r) => ({ labels: { type: r.type, state: r.state }, value: Number(r.n) }));
    }),
  ];
  return () => {
    for (const f of off) f();
  };
}

export async function registerMetrics(app: FastifyInstance, o: MetricsOptions): Promise<void> {
  const { registry } = o;
  const requests = new Counter({
    name: 'earshot_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'earshot_http_request_duration_seconds',
    help: 'Time to the response headers, by route',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern (not the raw URL) keeps label cardinality bounded.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  const unregister = registerReaders(o.database, o.paths);
  app.addHook('onClose', async () => unregister());
  const exposition = async () => `${await registry.metrics()}${await telemetry.render()}`;

  app.get('/metrics', { schema: { hide: true }, config: { access: 'public' } }, async (request, reply) => {
    // Same answer as a path that does not exist: anonymous callers learn nothing.
    if (!bearerMatches(request.headers.authorization, o.token)) return reply.callNotFound();
    reply.type(registry.contentType).header('cache-control', 'no-store');
    return exposition();
  });

  if (o.addr) {
    const { host, port } = parseListenAddr(o.addr);
    const server: Server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' || path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: metrics are at /metrics\n');
        return;
      }
      if (o.token && !bearerMatches(req.headers.authorization, o.token)) {
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('Bearer token needed\n');
        return;
      }
      exposition().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(body),
        (err: Error) => {
          o.logger.error({ area: 'metrics', err }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const bound = typeof address === 'object' && address ? `${address.address}:${address.port}` : o.addr;
    o.logger.info({ area: 'metrics', addr: bound }, 'metrics listener started');
    metricsListeners.set(app, server);
    app.addHook('onClose', async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
  }
}

/** The separate metrics listener of an app, if any (tests read its port). */
export const metricsListeners = new WeakMap<FastifyInstance, Server>();
