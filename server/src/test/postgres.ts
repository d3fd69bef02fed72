/**
 * A throwaway PostgreSQL server for the tests: Debian's `postgresql` binaries, a fresh cluster in a
 * temporary folder, listening on a free loopback port only (no Unix socket in /var/run), with
 * durability switched off (the tests test Earshot, not the disk). Started once per test run by the
 * server project's global setup; each test file asks for its own database (`createTestDatabase`).
 *
 * Without the binaries (a user's laptop, Termux) the PostgreSQL tests are skipped and say why; the
 * project's bootstrap installs `postgresql` on Debian when it runs as root.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PgCluster {
  /** Superuser URL of the cluster's `postgres` database, e.g. `postgres://earshot@127.0.0.1:54321/postgres`. */
  url: string;
  stop(): void;
}

const PG_ROOT = '/usr/lib/postgresql';

/** The newest installed PostgreSQL's bin folder (Debian layout), or the one `EARSHOT_TEST_PG_BIN` names. */
export function findPgBin(): string | undefined {
  const fromEnv = process.env.EARSHOT_TEST_PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : undefined;
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(PG_ROOT, versions[0], 'bin') : undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user
 * (created by Debian's package) and its commands run through `runuser`.
 */
function runAs(user: string | undefined, command: string, args: string[]): { status: number | null; output: string } {
  const [cmd, argv] = user ? ['runuser', ['-u', user, '--', command, ...args]] : [command, args];
  const result = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
  return {
    status: result.status,
    output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`,
  };
}

function pgUserIds(): { uid: number; gid: number } | undefined {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A run killed before its teardown (Ctrl+C twice, a timeout) leaves its cluster running: each
 * cluster folder records the test run's pid, and clusters of runs that are gone are stopped here.
 */
function stopOrphans(bin: string, user: string | undefined): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('earshot-pg-')) continue;
    const dir = join(tmpdir(), name);
    const owner = Number(readFileSafe(join(dir, 'owner.pid')));
    if (!owner || alive(owner)) continue;
    runAs(user, join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Starts a cluster; throws with the reason (missing binaries, initdb or pg_ctl output) when it cannot. */
export async function startPostgres(): Promise<PgCluster> {
  const bin = findPgBin();
  if (!bin) throw new Error(`PostgreSQL server binaries not found under ${PG_ROOT} (apt-get install postgresql)`);
  const isRoot = process.getuid?.() === 0;
  const owner = isRoot ? pgUserIds() : undefined;
  if (isRoot && !owner) throw new Error('running as root and there is no `postgres` user to own the test cluster');
  const user = isRoot ? 'postgres' : undefined;
  stopOrphans(bin, user);

  const dir = mkdtempSync(join(tmpdir(), 'earshot-pg-'));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const data = join(dir, 'data');
  if (owner) chownSync(dir, owner.uid, owner.gid);
  chmodSync(dir, 0o700);
  const init = runAs(user, join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'earshot',
    '--auth=trust',
    '--encoding=UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.output.trim().slice(-800)}`);
  }
  const port = await freePort();
  const conf = [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    "unix_socket_directories = ''",
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'max_connections = 200',
    'shared_buffers = 64MB',
    "log_min_messages = 'warning'",
  ].join('\n');
  writeFileSync(join(data, 'postgresql.auto.conf'), `${conf}\n`);
  if (owner) chownSync(join(data, 'postgresql.auto.conf'), owner.uid, owner.gid);
  const log = join(dir, 'server.log');
  if (owner) {
    writeFileSync(log, '');
    chownSync(log, owner.uid, owner.gid);
  }
  const start = runAs(user, join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-w', '-t', '60', 'start']);
  if (start.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pg_ctl start failed: ${start.output.trim().slice(-800)}`);
  }
  let stopped = false;
  return {
    url: `postgres://earshot@127.0.0.1:${port}/postgres`,
    stop() {
      if (stopped) return;
      stopped = true;
      runAs(user, join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Builds the run's migrated template database (see `createTestDatabase`'s `migrated`): created,
 * migrated by Earshot's own migrations, and closed, since PostgreSQL copies a template only while
 * nobody is connected to it.
 */
export async function createMigratedTemplate(clusterUrl: string): Promise<string> {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: clusterUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${TEMPLATE_DATABASE}"`);
  } finally {
    await admin.end();
  }
  const { connectDatabase } = await import('../db/engine.js');
  const { migrateToLatest } = await import('../db/migrate.js');
  const database = await connectDatabase({ url: withDatabase(clusterUrl, TEMPLATE_DATABASE), path: '' });
  try {
    await migrateToLatest(database.db);
  } finally {
    await database.close();
  }
  return TEMPLATE_DATABASE;
}

/** The cluster's URL with another database name. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Why the PostgreSQL tests are skipped in this run ('' when the cluster is up). */
export interface PgTestContext {
  url: string;
  skipReason: string;
  /** A database of the cluster migrated to the latest schema once per run (global-setup.ts), cloned by `migrated` databases. */
  template?: string;
}

/** The database `migrated` test databases are cloned from; global-setup.ts builds it once per run. */
export const TEMPLATE_DATABASE = 'earshot_migrated_template';

let announced = false;

/**
 * A fresh, empty database on the run's cluster for one test file (dropped by `drop`), or undefined
 * with the reason printed once per file when the run has no cluster.
 */
export async function createTestDatabase(
  context: PgTestContext,
  label = 'earshot',
  options: { migrated?: boolean } = {},
): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  if (!context.url) {
    if (!announced) {
      announced = true;
      console.warn(`PostgreSQL tests skipped: ${context.skipReason}`);
    }
    return undefined;
  }
  const { default: pg } = await import('pg');
  const name = `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: context.url });
  await admin.connect();
  try {
    // Migrating a fresh database costs about a second; copying the run's migrated template costs
    // what creating an empty one does, and there are a few hundred such databases per run.
    const template = options.migrated && context.template ? ` TEMPLATE "${context.template}"` : '';
    await admin.query(`CREATE DATABASE "${name}"${template}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(context.url, name),
    async drop() {
      const client = new pg.Client({ connectionString: context.url });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Makes a test database unreachable the way a PostgreSQL restart or an outage does: its open
 * connections are terminated and new ones refused (`ALLOW_CONNECTIONS false`). `drop()` still works.
 */
export async function cutOffDatabase(clusterUrl: string, databaseUrl: string): Promise<void> {
  const { default: pg } = await import('pg');
  const name = new URL(databaseUrl).pathname.slice(1);
  const admin = new pg.Client({ connectionString: clusterUrl });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
  } finally {
    await admin.end();
  }
}
