/**
 * The library area alone (scanner, service, watcher) on either engine, for the scanner tests that
 * run on SQLite and on PostgreSQL (`forEachEngine`). It is built as main.ts builds it — the same
 * config, data folders, domain events and `createLibrary` — on a fresh database from the engine
 * (test/engines.ts), without the HTTP app (cheaper than a whole server for the scan tests; the
 * whole app on PostgreSQL is `startTestServer({ databaseUrl })`, app.pg.test.ts).
 *
 * @example
 *   forEachEngine((engine) => {
 *     let t: LibraryTestServer;
 *     beforeAll(async () => { t = await startLibraryServer(engine); });
 *     it('…', async () => { await t.earshot.library.service.runScan({ trigger: 'test' }); });
 *   });
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type SQLite from 'better-sqlite3';
import { pino } from 'pino';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/database.js';
import { type AnyDatabase, connectDatabase, requireSqlite } from '../db/engine.js';
import { migrateToLatest } from '../db/migrate.js';
import { createDomainEvents } from '../domain-events.js';
import { createLibrary, type Library } from '../library/module.js';
import type { EventBus } from '../shared/events.js';
import { type DataPaths, dataPaths, ensureDataDirs } from '../shared/fs-paths.js';
import { Lifecycle } from '../shared/lifecycle.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { type Clock, systemClock } from '../shared/time.js';
import type { EngineUnderTest } from './engines.js';
import { testConfig } from './harness.js';

/** The parts of a running Earshot the library tests use (a TestServer's `earshot` has them too). */
export interface LibraryParts {
  library: Library;
  database: AnyDatabase & { db: Db };
  paths: DataPaths;
  config: Config;
  logger: Logger;
  clock: Clock;
  events: EventBus;
}

export interface LibraryTestServer {
  earshot: LibraryParts;
  engine: EngineUnderTest['name'];
  /** The PostgreSQL URL (with its password) of the test database; undefined on SQLite. */
  databaseUrl: string | undefined;
  /** The raw SQLite handle (throws on PostgreSQL). */
  readonly sqlite: SQLite.Database;
  config: Config;
  dir: string;
  /** A user row (for playlists and likes that point at tracks); it cannot sign in. */
  createUser(): Promise<{ id: string; username: string }>;
  close(): Promise<void>;
}

export async function startLibraryServer(
  engine: EngineUnderTest,
  options: {
    env?: Record<string, string>;
    clock?: Clock;
    /** An existing data folder (kept on close), e.g. one a CLI scan wrote to. */
    dir?: string;
    /** An existing database of the engine (closed by its opener), e.g. one a CLI scan wrote to. */
    database?: AnyDatabase & { db: Db; rawUrl?: string };
  } = {},
): Promise<LibraryTestServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'earshot-library-'));
  const config = testConfig(dir, options.env);
  const logger = pino({ level: process.env.EARSHOT_TEST_LOG ?? 'silent' });
  const clock = options.clock ?? systemClock;
  const paths = dataPaths(config);
  ensureDataDirs(paths);
  // SQLite: the data folder's own file (as the server and `earshot scan` open it); PostgreSQL: a
  // fresh database on the run's cluster.
  const ownDatabase = !options.database && engine.name === 'sqlite';
  const database =
    options.database ?? (engine.name === 'sqlite' ? await openSqlite(paths.dbFile) : await engine.open());
  const lifecycle = new Lifecycle(logger);
  const domain = createDomainEvents({ database, clock, logger });
  lifecycle.onStop('domain events', () => domain.settled());
  const library = createLibrary({ config, database, paths, clock, logger, events: domain.events, lifecycle });
  let users = 0;
  const earshot: LibraryParts = { library, database, paths, config, logger, clock, events: domain.events };
  return {
    earshot,
    engine: engine.name,
    databaseUrl: database.rawUrl,
    get sqlite() {
      return requireSqlite(database, 'This test').sqlite;
    },
    config,
    dir,
    async createUser() {
      users += 1;
      const id = newId();
      const username = `user${users}`;
      const now = Date.now();
      await database.db
        .insertInto('users')
        .values({
          id,
          username,
          username_key: username,
          password_hash: '!',
          role: 'user',
          email: null,
          display_name: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      return { id, username };
    },
    async close() {
      await lifecycle.stop();
      if (ownDatabase) await database.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
      // The database itself is closed (and dropped, on PostgreSQL) after the file by engines.ts.
    },
  };
}

async function openSqlite(path: string): Promise<AnyDatabase & { rawUrl?: undefined }> {
  const database = await connectDatabase({ path });
  await migrateToLatest(database.db);
  return database;
}
