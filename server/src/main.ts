/**
 * The composition root: builds config-dependent pieces (database, event bus, HTTP app), then each
 * area through its `create<Area>(deps)` factory, and registers each area's `routes` plugin. The
 * CLI commands build what they need with the same factories. How to add an area: README.md here.
 */
import type { Config } from './config/schema.js';
import type { RequestAuthenticator } from './accounts/authenticator.js';
import type { SessionStore } from './accounts/session-store.js';
import { type Accounts, createAccounts, setupLink } from './accounts/index.js';
import { type Catalog, createCatalog } from './catalog/module.js';
import { registerDtoSchemas } from './catalog/dto.js';
import { createClientIpResolver } from './accounts/client-ip.js';
import { registerCsrfProtection } from './accounts/csrf.js';
import { createListening, type Listening } from './listening/module.js';
import { migrateToLatest } from './db/migrate.js';
import { type AnyDatabase, connectDatabase } from './db/engine.js';
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
import { registerWebApp } from './http/web-app.js';
import { createLibrary, type Library } from './library/module.js';
import { createSources, type Sources, startSourcesBackground } from './sources/module.js';
import { createSubsonic } from './subsonic/module.js';
import { type Cluster, createCluster, isPostgres, postgresUrlOf } from './cluster/index.js';
import { telemetry } from './shared/telemetry.js';
import { registerStreamingGauges } from './streaming/stream-metrics.js';
import { startBackupSchedule } from './system/backup-schedule.js';
import { createSystem, type System } from './system/module.js';

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
  database: AnyDatabase;
  paths: DataPaths;
  lifecycle: Lifecycle;
  clock: Clock;
  serverKey: Buffer;
  events: EventBus;
  sessions: SessionStore;
  authenticator: RequestAuthenticator;
  /** Users, sessions, tokens, registration, the auth throttle (reuse it for /rest). */
  accounts: Accounts;
  /** Library scanner, watcher and scan control. */
  library: Library;
  /** Browsing and local search (`catalog.search` is the federated search's local provider). */
  catalog: Catalog;
  /** Likes, plays, playlists, the play queue and share links. */
  listening: Listening;
  /** Range serving, transcodes, artwork; `setRemoteHandler` for uncached remote tracks. */
  streaming: Streaming;
  /** Remote sources: provider registry, caching proxy, federated search, offline jobs. */
  sources: Sources;
  /** Health, storage report, server information. */
  system: System;
  /** Replica coordination: leader, download locks, shared throttle (one process on SQLite). */
  cluster: Cluster;
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

  const database = await connectDatabase({ url: config.databaseUrl, path: paths.dbFile });
  lifecycle.onStop('database', () => database.close());
  // Cross-area reactions (the same wiring as `earshot scan`); they finish before the database closes.
  const domain = createDomainEvents({ database, clock, logger });
  const { events } = domain;
  lifecycle.onStop('domain events', () => domain.settled());
  const migrations = await migrateToLatest(database.db);
  if (migrations.applied.length > 0) logger.info({ applied: migrations.applied }, 'database migrated');

  // The signing key exists before any route is mounted.
  const serverKey = loadOrCreateServerKey(paths.dbDir, config.secretKey);
  const { db } = database;

  // Replicas coordinate through PostgreSQL only when the data lives there too (EARSHOT_DATABASE_URL).
  const cluster = await createCluster({
    postgresUrl: isPostgres(db) ? postgresUrlOf(config) : undefined,
    logger,
    maxTrackLocks: config.cacheJobsConcurrency + 8,
  });
  lifecycle.onStop('cluster', () => cluster.close());

  // ── The areas, services first (an area's dependencies are built before it). ──
  const accounts = createAccounts({ db, sqlite: database.sqlite, clock, logger, config, serverKey });
  const { sessions, authenticator } = accounts;
  if (cluster.failures) await accounts.throttle.share(cluster.failures, logger);
  const system = createSystem({
    config,
    db,
    paths,
    clock,
    version: VERSION,
    startedAt: clock.now(),
    isLeader: () => cluster.leader.isLeader,
  });
  const library = createLibrary({ config, database, paths, clock, logger, events, lifecycle });
  const streaming = createStreaming({ config, db, paths, clock, logger, lifecycle, serverKey, authenticator });
  const listening = createListening({
    db,
    clock,
    events,
    logger,
    musicDir: paths.musicDir,
    publicUrl: config.publicUrl,
    serverKey,
    media: { artwork: streaming.artwork, stream: streaming.responder },
  });
  const catalog = createCatalog({ database, lifecycle, liked: listening.liked });
  const sources = await createSources({
    config,
    db,
    paths,
    events,
    clock,
    logger,
    lifecycle,
    local: catalog.search,
    liked: listening.liked,
    trackLocks: cluster.trackLocks,
  });
  streaming.setRemoteHandler(sources.cachingProxy);
  registerStreamingGauges(streaming.limiter, lifecycle);
  const subsonic = createSubsonic({
    database,
    config,
    clock,
    logger,
    version: VERSION,
    accounts,
    library,
    catalog,
    listening,
    streaming,
    sources,
  });

  // ── HTTP: cross-cutting plugins, then each area's routes plugin. ──
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
  if (config.metricsEnabled && (config.metricsToken || config.metricsAddr)) {
    // Loaded only when someone can read them (a token for /metrics, or their own listener): with
    // neither, /metrics answers 404 to everyone, and prom-client would cost a few MB of resident
    // memory, its GC and event-loop observers, a hook on every response and ~50 ms of start-up.
    const { createMetricsRegistry, registerMetrics } = await import('./system/metrics.js');
    await registerMetrics(app, {
      registry: createMetricsRegistry(),
      token: config.metricsToken,
      addr: config.metricsAddr,
      database,
      paths,
      logger,
    });
  }
  // Each area's routes plugin runs on the root instance, not in a context of its own: it only
  // registers its access scopes (each encapsulated), and every `register` is a Fastify context and
  // an avvio plugin entry at start-up (issue 16).
  for (const area of [system, library, catalog, accounts, listening, streaming, sources, subsonic])
    await area.routes(app, {});
  // The web app (SPA fallback) is registered LAST so every API route above wins and API 404s stay JSON.
  registerWebApp(app, { logger });

  // ── Background work (not in tests that ask for none). ──
  lifecycle.onStop(
    'leader gauge',
    telemetry.gauge('earshot_leader', () => (cluster.leader.isLeader ? 1 : 0)),
  );
  let closing: Promise<void> | null = null;
  if (background) {
    // Started once the server accepts connections, not before: the watcher's listing, the scan
    // on start (its tag workers) and the job runner would otherwise share the CPU with start-up
    // (issue 16). `onListen` for `serve`; the `onReady` path covers `app.ready()` without a
    // socket (benches). setImmediate: after the listen() call's own continuations (the
    // "listening" log line). Readiness is unaffected: /health/ready reads the database.
    let started = false;
    const startBackground = () => {
      if (started || closing) return;
      started = true;
      // Scans and the watcher run on the leader only (one replica at a time; always, on SQLite):
      // they start when this replica gains the lead and stop when it loses it.
      // A replica that gains the lead on PostgreSQL also rescans once its watcher is up: nobody
      // watched the folder between the old leader's death and now, and a change in that gap
      // would otherwise wait for the next scheduled full scan.
      cluster.leader.onChange((leader) => {
        if (leader) library.startBackground({ catchUp: cluster.mode === 'replicas' });
        else void library.service.stopBackground();
      });
      cluster.leader.start().catch((err) => logger.error({ err, area: 'cluster' }, 'leader election failed to start'));
      startSourcesBackground(sources).catch((err) =>
        logger.error({ err, area: 'sources' }, 'sources background work failed to start'),
      );
      // Scheduled backups: daily unless EARSHOT_BACKUP_INTERVAL_HOURS=0.
      // (SQLite only: a PostgreSQL database is backed up with pg_dump or the provider's snapshots.)
      if (config.backupIntervalHours > 0 && database.engine === 'sqlite')
        startBackupSchedule({ config, paths, logger, lifecycle });
    };
    app.addHook('onListen', (done) => {
      setImmediate(startBackground);
      done();
    });
    app.addHook('onReady', (done) => {
      setImmediate(startBackground);
      done();
    });
  }

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
    library,
    catalog,
    listening,
    streaming,
    sources,
    system,
    cluster,
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
