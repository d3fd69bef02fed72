/**
 * Composition root: builds config-dependent pieces (database, services, HTTP app) and wires them.
 * Nothing else constructs services. Each area adds its construction and route registration here.
 */
import type { Config } from './config/schema.js';
import type { RequestAuthenticator } from './accounts/authenticator.js';
import type { SessionStore } from './accounts/session-store.js';
import { type Accounts, createAccounts, setupLink } from './accounts/index.js';
import { registerDtoSchemas } from './catalog/dto.js';
import { authRoutes } from './accounts/auth.routes.js';
import { createClientIpResolver } from './accounts/client-ip.js';
import { registerCsrfProtection } from './accounts/csrf.js';
import { meRoutes } from './accounts/me.routes.js';
import { listeningRoutes } from './listening/index.js';
import { adminRoutes } from './system/admin.routes.js';
import { storageRoutes } from './system/storage.routes.js';
import { StorageService } from './system/storage.service.js';
import { type OpenedDatabase, openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { accessScope } from './http/access.js';
import { type App, buildHttpApp } from './http/app.js';
import type { EventBus } from './shared/events.js';
import { createDomainEvents } from './domain-events.js';
import { Lifecycle } from './shared/lifecycle.js';
import { type DataPaths, dataPaths, ensureDataDirs } from './shared/fs-paths.js';
import { createLogger, type Logger } from './shared/logger.js';
import { loadOrCreateServerKey } from './shared/server-key.js';
import { type Clock, systemClock } from './shared/time.js';
import { VERSION } from './shared/version.js';
import { createStreaming, type Streaming } from './streaming/module.js';
import { shareRoutes } from './listening/shares.routes.js';
import { SharesRepository } from './listening/shares.repository.js';
import { SharesService } from './listening/shares.service.js';
import { healthRoutes } from './system/health.routes.js';
import { registerWebApp } from './http/web-app.js';
import { createLibrary, type Library } from './library/module.js';
import { createSources, type Sources, startSourcesBackground } from './sources/module.js';
import { createSubsonic } from './subsonic/module.js';
import { registerStreamingGauges } from './streaming/stream-metrics.js';
import { startBackupSchedule } from './system/backup-schedule.js';

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
  /** Library scanner/watcher and catalog (browsing, `library.search` for the federated search). */
  library: Library;
  /** Users, sessions, tokens, registration, the auth throttle (reuse it for /rest). */
  accounts: Accounts;
  /** Streaming (issue 5): range serving, transcodes, artwork; `setRemoteHandler` for uncached remote tracks. */
  streaming: Streaming;
  /** Remote sources (issue 6): provider registry, caching proxy, federated search, offline jobs. */
  sources: Sources;
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
  ensureDataDirs(paths);

  const database = openDatabase(paths.dbFile);
  lifecycle.onStop('database', () => database.close());
  // Cross-area reactions (the same wiring as `earshot scan`); they finish before the database closes.
  const domain = createDomainEvents({ database, clock, logger });
  const { events } = domain;
  lifecycle.onStop('domain events', () => domain.settled());
  const migrations = await migrateToLatest(database.db);
  if (migrations.applied.length > 0) logger.info({ applied: migrations.applied }, 'database migrated');

  // The signing key exists before any route is mounted.
  const serverKey = loadOrCreateServerKey(paths.dbDir, config.secretKey);
  const accounts = createAccounts({ db: database.db, sqlite: database.sqlite, clock, logger, config, serverKey });
  const { sessions, authenticator } = accounts;

  const app = await buildHttpApp({
    logger,
    version: VERSION,
    publicUrl: config.publicUrl,
    allowedHosts: config.allowedHosts,
    authenticator,
    clientIp: createClientIpResolver(config.trustedProxies),
  });
  // Before any route: cookie-authenticated state changes must come from our own origin.
  registerCsrfProtection(app, { publicUrl: config.publicUrl });
  // Shared Track/Album/Artist schemas, referenced by `$ref` from every area's responses.
  registerDtoSchemas(app);

  if (config.metricsEnabled) {
    // Loaded only when enabled: prom-client costs a few MB of resident memory for nothing otherwise.
    const { createMetricsRegistry, registerMetrics } = await import('./system/metrics.js');
    await registerMetrics(app, {
      registry: createMetricsRegistry(),
      token: config.metricsToken,
      addr: config.metricsAddr,
      sqlite: database.sqlite,
      paths,
      logger,
    });
  }
  await app.register(accessScope('public', healthRoutes), { db: database.db, version: VERSION });

  // ── Areas register below (services first, then their routes). ──
  // Library and catalog (issue 4): scanner, watcher, browsing, local search, scan control.
  const library = await createLibrary({ app, config, database, paths, clock, logger, events, lifecycle, background });
  lifecycle.onStop('search reader', () => library.search.close());
  // Accounts and personal music (issue 3).
  const startedAt = clock.now();
  const storage = new StorageService({ db: database.db, paths, clock });
  const secureCookies = config.publicUrl?.startsWith('https://') ?? false;
  await app.register(accessScope('public', authRoutes), { accounts, secureCookies, publicUrl: config.publicUrl });
  await app.register(meRoutes, { accounts, secureCookies });
  await app.register(listeningRoutes, {
    db: database.db,
    clock,
    events,
    logger,
    musicDir: paths.musicDir,
    publicUrl: config.publicUrl,
  });
  await app.register(storageRoutes, { storage });
  await app.register(accessScope('admin', adminRoutes), {
    accounts,
    config,
    db: database.db,
    clock,
    startedAt,
    publicUrl: config.publicUrl,
  });
  // First run: while no account exists, each start prints a fresh one-time setup link.
  const setup = await accounts.registration.issueSetupToken();
  if (setup) {
    logger.warn(
      {
        area: 'accounts',
        setupUrl: setupLink(config, setup.token),
        expiresAt: new Date(setup.expiresAt).toISOString(),
      },
      `No account exists yet. Open this one-time link to create the administrator: ${setupLink(config, setup.token)}`,
    );
  }
  void background;

  // Streaming, cover art and share links (issue 5).
  const streaming = await createStreaming({
    app,
    config,
    db: database.db,
    paths,
    clock,
    logger,
    lifecycle,
    serverKey,
    authenticator,
  });
  const shares = new SharesService(new SharesRepository(database.db), clock, serverKey, config.publicUrl);
  await app.register(shareRoutes, {
    shares,
    artwork: streaming.artwork,
    stream: streaming.responder,
    publicUrl: config.publicUrl,
  });

  // Remote sources (issue 6): providers, federated search, caching proxy behind /stream, offline jobs.
  const sources = await createSources({
    app,
    config,
    db: database.db,
    paths,
    events,
    clock,
    logger,
    lifecycle,
    local: library.search,
  });
  streaming.setRemoteHandler(sources.cachingProxy);
  registerStreamingGauges(streaming.limiter, lifecycle);
  // Scheduled backups (issue 18): daily unless EARSHOT_BACKUP_INTERVAL_HOURS=0.
  if (background && config.backupIntervalHours > 0) startBackupSchedule({ config, paths, logger, lifecycle });
  if (background) app.addHook('onReady', () => startSourcesBackground(sources));

  // Subsonic / OpenSubsonic API (issue 20): /rest/* over the same services.
  await createSubsonic({
    app,
    config,
    db: database.db,
    sqlite: database.sqlite,
    paths,
    clock,
    logger,
    events,
    version: VERSION,
    accounts,
    library,
    streaming,
    shares,
    sources,
  });

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
    accounts,
    streaming,
    library,
    sources,
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
