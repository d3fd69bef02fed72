/**
 * Test harness: a real Earshot (real SQLite file in a temp dir, real Fastify app) for integration
 * tests through `app.inject()` or a real port. Every test file gets its own data dir. With
 * `databaseUrl` (e.g. from `createTestDatabase`, test/postgres.ts) the same app runs on that
 * PostgreSQL database instead (EARSHOT_DATABASE_URL); the data dir still holds music and cache.
 *
 * @example
 *   const t = await startTestServer();
 *   const alice = await t.createUser({ username: 'alice' });
 *   const res = await t.app.inject({ url: '/api/v1/playlists', headers: await t.authHeaders(alice) });
 *   await t.close();
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '@node-rs/argon2';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createEarshot, type Earshot } from '../main.js';
import { newId } from '../shared/ids.js';
import type SQLite from 'better-sqlite3';
import { requireSqlite } from '../db/engine.js';
import type { Clock } from '../shared/time.js';
import { SESSION_COOKIE } from '../accounts/session-store.js';

export interface TestUser {
  id: string;
  username: string;
  password: string;
  role: 'admin' | 'user';
}

export interface TestServer {
  earshot: Earshot;
  /** The raw SQLite handle (throws when the server under test runs on PostgreSQL). */
  readonly sqlite: SQLite.Database;
  app: Earshot['app'];
  config: Config;
  dir: string;
  createUser(input?: Partial<Pick<TestUser, 'username' | 'password' | 'role'>>): Promise<TestUser>;
  /** Cookie header of a fresh web session for the user. */
  authHeaders(user: TestUser): Promise<Record<string, string>>;
  /** Starts listening on an ephemeral loopback port; returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Builds a config for tests: temp data dir, silent logs, no background work unless asked. */
export function testConfig(dir: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    env: {
      EARSHOT_DATA_DIR: dir,
      EARSHOT_LOG_LEVEL: 'silent',
      EARSHOT_PORT: '0',
      EARSHOT_SCAN_ON_START: 'false',
      EARSHOT_WATCH: 'false',
      EARSHOT_FULL_SCAN_INTERVAL_MINUTES: '0',
      EARSHOT_YTDLP: '/usr/bin/yt-dlp',
      // The server under test may use another ffmpeg than the fixtures (which need a full one):
      // e.g. the container image's audio-only build (docs/deploy.md "Audio-only ffmpeg").
      ...(process.env.EARSHOT_TEST_FFMPEG ? { EARSHOT_FFMPEG: process.env.EARSHOT_TEST_FFMPEG } : {}),
      ...(process.env.EARSHOT_TEST_FFPROBE ? { EARSHOT_FFPROBE: process.env.EARSHOT_TEST_FFPROBE } : {}),
      ...env,
    },
    argv: [],
    envFile: null,
    cwd: dir,
  }).config;
}

// Cheap argon2 parameters for fixtures only; the accounts service uses OWASP parameters.
const FIXTURE_HASH = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

/**
 * Where `startTestServer` puts the database when a test does not say: a SQLite file in the
 * server's folder (undefined), or a fresh PostgreSQL database this returns the URL of — set for a
 * block of tests by `forEachServerEngine` (test/engines.ts).
 */
let defaultDatabaseUrl: ((options: { migrated: boolean }) => Promise<string>) | undefined;
export function setDefaultTestDatabase(
  supplier: ((options: { migrated: boolean }) => Promise<string>) | undefined,
): void {
  defaultDatabaseUrl = supplier;
}

export async function startTestServer(
  options: {
    env?: Record<string, string>;
    clock?: Clock;
    background?: boolean;
    dir?: string;
    /** Serve from this PostgreSQL database (a `postgres://` URL) instead of a SQLite file. */
    databaseUrl?: string;
  } = {},
): Promise<TestServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'earshot-test-'));
  // The server migrates at start anyway: a database cloned from the run's migrated template saves it that work.
  const databaseUrl = options.databaseUrl ?? (await defaultDatabaseUrl?.({ migrated: true }));
  const config = testConfig(dir, {
    ...(databaseUrl ? { EARSHOT_DATABASE_URL: databaseUrl } : {}),
    ...options.env,
  });
  const logger = pino({ level: process.env.EARSHOT_TEST_LOG ?? 'silent' });
  const earshot = await createEarshot(config, {
    logger,
    clock: options.clock,
    background: options.background ?? false,
  });
  let counter = 0;
  return {
    earshot,
    get sqlite() {
      return requireSqlite(earshot.database, 'This test').sqlite;
    },
    app: earshot.app,
    config,
    dir,
    async createUser(input = {}) {
      counter += 1;
      const username = input.username ?? `user${counter}`;
      const password = input.password ?? `pw-${username}-secret`;
      const role = input.role ?? 'user';
      const id = newId();
      const now = Date.now();
      await earshot.database.db
        .insertInto('users')
        .values({
          id,
          username,
          username_key: username.toLowerCase(),
          password_hash: await hash(password, FIXTURE_HASH),
          role,
          email: null,
          display_name: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      return { id, username, password, role };
    },
    async authHeaders(user) {
      const session = await earshot.sessions.create(user.id, { userAgent: 'vitest' });
      return { cookie: `${SESSION_COOKIE}=${session.cookieValue}` };
    },
    async listen() {
      const address = await earshot.app.listen({ host: '127.0.0.1', port: 0 });
      return address;
    },
    async close() {
      await earshot.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The database a server built by hand (`createEarshot(testConfig(…))`) should use in this block:
 * a fresh PostgreSQL database's URL inside `forEachServerEngine`'s `postgres` block, else undefined
 * (a SQLite file in the data folder). Pass it as `EARSHOT_DATABASE_URL`.
 */
export async function testDatabaseUrl(): Promise<string | undefined> {
  // Empty, as a user's new database is: CLI tests see `earshot migrate` create the schema.
  return defaultDatabaseUrl?.({ migrated: false });
}
