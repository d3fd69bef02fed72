/**
 * Composition root: builds config-dependent pieces (database, services, HTTP app) and wires them.
 * Nothing else constructs services. Each area adds its construction and route registration here.
 */
import type { Config } from './config/schema.js';
import { RequestAuthenticator } from './accounts/authenticator.js';
import { SessionStore } from './accounts/session-store.js';
import { type OpenedDatabase, openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { type App, buildHttpApp } from './http/app.js';
import { EventBus } from './shared/events.js';
import { Lifecycle } from './shared/lifecycle.js';
import { type DataPaths, dataPaths, ensureDataDirs } from './shared/fs-paths.js';
import { createLogger, type Logger } from './shared/logger.js';
import { loadOrCreateServerKey } from './shared/server-key.js';
import { type Clock, systemClock } from './shared/time.js';
import { VERSION } from './shared/version.js';
import { healthRoutes } from './system/health.routes.js';
import { registerWebApp } from './http/web-app.js';
import { createMetricsRegistry, registerMetrics } from './system/metrics.js';

export interface EarshotOptions {
  logger?: Logger;
  clock?: Clock;
  /** Skip background work that tests don't want (initial scan, watcher, job runners). */
  background?: boolean;
}

export interface Earshot {
  app: App;
  config: Config;
  logger: Logger;
  database: OpenedDatabase;
  paths: DataPaths;
  lifecycle: Lifecycle;
  clock: Clock;
  serverKey: Buffer;
  events: EventBus;
  sessions: SessionStore;
  authenticator: RequestAuthenticator;
  /** Starts listening; resolves with the address. */
  listen(): Promise<string>;
  /** Graceful stop: stop accepting, cut streams after the deadline, stop jobs, close the DB. */
  close(): Promise<void>;
}

export async function createEarshot(config: Config, options: EarshotOptions = {}): Promise<Earshot> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat });
  const clock = options.clock ?? systemClock;
  const background = options.background ?? true;
  const lifecycle = new Lifecycle(logger);
  const paths = dataPaths(config);
  const events = new EventBus();
  events.onError((err) => logger.error({ err }, 'event listener failed'));
  ensureDataDirs(paths);

  const database = openDatabase(paths.dbFile);
  lifecycle.onStop('database', () => database.close());
  const migrations = await migrateToLatest(database.db);
  if (migrations.applied.length > 0) logger.info({ applied: migrations.applied }, 'database migrated');

  // The signing key exists before any route is mounted.
  const serverKey = loadOrCreateServerKey(paths.dbDir, config.secretKey);
  const sessions = new SessionStore(database.db, clock);
  const authenticator = new RequestAuthenticator(sessions);

  const app = await buildHttpApp({ logger, version: VERSION, publicUrl: config.publicUrl, authenticator });

  if (config.metricsEnabled) registerMetrics(app, createMetricsRegistry());
  await app.register(healthRoutes, { db: database.db, version: VERSION });

  // ── Areas register below (services first, then their routes). ──
  void background;

  // The web app (SPA fallback) is registered LAST so every API route above wins and API 404s stay JSON.
  registerWebApp(app, { logger });

  let closing: Promise<void> | null = null;
  const earshot: Earshot = {
    app,
    config,
    logger,
    database,
    paths,
    lifecycle,
    clock,
    serverKey,
    events,
    sessions,
    authenticator,
    async listen() {
      return app.listen({ host: config.host, port: config.port });
    },
    close() {
      closing ??= (async () => {
        const deadline = setTimeout(() => {
          logger.warn('shutdown deadline reached: closing open connections');
          app.server.closeAllConnections?.();
        }, config.shutdownTimeoutMs);
        deadline.unref();
        try {
          await app.close();
        } finally {
          clearTimeout(deadline);
          await lifecycle.stop();
        }
      })();
      return closing;
    },
  };
  return earshot;
}
