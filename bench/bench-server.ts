/**
 * The set-up the in-process search benches share (search.bench.ts, search-cpu.ts,
 * subsonic-cpu.ts): their command-line flags, the server's modules from a build (server/dist, a
 * copy of an older build, or the sources through tsx), a copy of a scanned database in a fresh
 * data dir, the server started with its default settings as a user runs it (watcher on, the scan
 * on start done before measuring), and a bench user.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type SQLite from 'better-sqlite3';
import { benchServerEnv } from './search-load.ts';

type Main = typeof import('../server/src/main.ts');
type Load = typeof import('../server/src/config/load.ts');
type SessionStore = typeof import('../server/src/accounts/session-store.ts');
export type Earshot = Awaited<ReturnType<Main['createEarshot']>>;

/** `--name value` flags and `--name` switches of a bench's command line. */
export function flags(argv: readonly string[]) {
  const get = (name: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  return { get, has: (name: string) => argv.includes(`--${name}`) };
}

export interface ServerSource {
  /** A folder like server/dist (e.g. a copy of an older build: before/after in one session). */
  dist?: string;
  /** The sources through tsx instead of a build. */
  src?: boolean;
}

/** The server's modules a bench uses, from the build (or sources) asked for. */
export async function serverModules(source: ServerSource = {}) {
  const base = source.dist
    ? new URL(`file://${resolve(source.dist)}/`)
    : new URL(source.src ? '../server/src/' : '../server/dist/', import.meta.url);
  const module = (path: string) => new URL(source.src ? `${path}.ts` : `${path}.js`, base).href;
  if (!source.src && !existsSync(new URL(module('main')))) {
    throw new Error(`no server build at ${base.pathname}: npm run build -w server`);
  }
  const { createEarshot } = (await import(module('main'))) as Main;
  const { loadConfig, describeConfig } = (await import(module('config/load'))) as Load;
  const { SESSION_COOKIE } = (await import(module('accounts/session-store'))) as SessionStore;
  return { createEarshot, loadConfig, describeConfig, SESSION_COOKIE };
}

/** Exits with the usage line unless the scanned database and its music folder exist. */
export function requireLibrary(
  db: string | undefined,
  lib: string | undefined,
  usage: string,
): { db: string; lib: string } {
  if (!db || !existsSync(db) || !lib || !existsSync(lib)) {
    console.error(`usage: ${usage}`);
    process.exit(64);
  }
  return { db, lib };
}

export interface BenchServer {
  earshot: Earshot;
  /** The settings that differ from the defaults (`ENV=value` rows of config/load.ts). */
  described: ReturnType<Load['describeConfig']>;
  modules: Awaited<ReturnType<typeof serverModules>>;
  /** Closes the server and removes its data dir. */
  close(): Promise<void>;
}

/**
 * A server on a copy of `db` (a scanned database) serving `lib`, with the default settings plus
 * `env`, started in this process and ready: listening is left to the caller; the watcher is on
 * and the scan on start (nothing changed) has finished.
 */
export async function startBenchServer(o: {
  db: string;
  lib: string;
  source?: ServerSource;
  env?: Record<string, string>;
  /** Called before the app is ready (routes of the bench's own, e.g. a floor route). */
  beforeReady?: (earshot: Earshot) => void;
}): Promise<BenchServer> {
  const modules = await serverModules(o.source);
  const dataDir = mkdtempSync(join(tmpdir(), 'earshot-bench-server-'));
  mkdirSync(join(dataDir, 'db'));
  copyFileSync(o.db, join(dataDir, 'db', 'earshot.db'));
  const loaded = modules.loadConfig({
    env: { ...benchServerEnv(dataDir, o.lib), ...o.env },
    argv: [],
    envFile: null,
    cwd: dataDir,
  });
  const { config } = loaded;
  const earshot = await modules.createEarshot(config, { background: true });
  const close = async () => {
    try {
      await earshot.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
  try {
    // As a user's server: the watcher started, the scan on start (nothing changed) done.
    const scanned = config.scanOnStart
      ? new Promise<void>((done) => {
          const off = earshot.library.scanner.onProgress((_p, final) => {
            if (final) {
              off();
              done();
            }
          });
        })
      : Promise.resolve();
    o.beforeReady?.(earshot);
    await earshot.app.ready();
    await scanned;
    await earshot.library.scanner.idle();
  } catch (err) {
    await close();
    throw err;
  }
  return { earshot, described: modules.describeConfig(loaded), modules, close };
}

/** A plain (non-admin) user for the bench, created if missing; its id. */
export function benchUser(earshot: Earshot, username = 'benchcpu'): string {
  const sqlite = sqliteOf(earshot);
  const found = sqlite.prepare('select id from users where username = ?').pluck().get(username) as string | undefined;
  if (found) return found;
  const id = `${username.padEnd(16, '0').slice(0, 16)}0001`;
  const now = Date.now();
  sqlite
    .prepare(
      `insert into users (id, username, username_key, role, created_at, updated_at)
       values (?, ?, ?, 'user', ?, ?)`,
    )
    .run(id, username, username, now, now);
  return id;
}

/** Waits (at most 60 s) until the in-memory search mirrors are built. */
export async function mirrorsBuilt(earshot: Earshot): Promise<void> {
  const { search } = earshot.catalog;
  for (let i = 0; i < 3000 && !search.mirrorsWarm; i++) await new Promise((r) => setTimeout(r, 20));
}

/** The server's SQLite connection (the benches read their queries and ids from it). */
export function sqliteOf(earshot: { database: { sqlite?: SQLite.Database } }): SQLite.Database {
  const { sqlite } = earshot.database;
  if (!sqlite) throw new Error('this bench reads an SQLite database');
  return sqlite;
}
