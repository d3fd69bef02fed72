/**
 * The built `earshot` binary as users run it: child processes, real signals, real files.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { CLI_BIN } from '../test/build.js';
import { forEachServerEngine } from '../test/engines.js';
import { testDatabaseUrl } from '../test/harness.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'earshot-cli-'));
  dirs.push(d);
  return d;
}

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const r = spawnSync(process.execPath, [CLI_BIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, EARSHOT_LOG_FORMAT: 'json', ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A quiet server on a free port over `data`. */
const serveEnv = (data: string) => ({
  EARSHOT_DATA_DIR: data,
  EARSHOT_PORT: '0',
  EARSHOT_LOG_FORMAT: 'json',
  EARSHOT_SCAN_ON_START: 'false',
  EARSHOT_WATCH: 'false',
});

/** The launcher `npm start`, the systemd unit and Termux:Boot start the server with. */
const LAUNCHER = fileURLToPath(new URL('../../../scripts/earshot-serve.sh', import.meta.url));
/** This test's node first on PATH: the launcher runs `node`. */
const PATH_WITH_NODE = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
/** What the launcher adds for V8's helper threads here: as many as the CPUs when fewer than 4. */
const POOL = availableParallelism() < 4 ? ` --v8-pool-size=${availableParallelism()}` : '';
/** Where Debian (any architecture) installs libjemalloc2, if it is installed here. */
function jemallocHere(): string | null {
  const r = spawnSync('sh', ['-c', 'ls /usr/lib/*-linux-gnu/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 2>/dev/null']);
  return r.stdout.toString().split('\n')[0] || null;
}

function launcherEnv(env: Record<string, string> = {}): Record<string, string> {
  const r = spawnSync('sh', [LAUNCHER, '--env'], { encoding: 'utf8', env: { PATH: PATH_WITH_NODE, ...env } });
  expect(r.status, r.stderr).toBe(0);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** Waits for a log line matching `pattern` on the child's stdout. */
function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => pattern.test(l));
      if (line) {
        child.stdout?.off('data', onData);
        resolve(line);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before logging ${pattern}:\n${buffer}`)));
  });
}

describe('earshot CLI', () => {
  it('serve refuses bad configuration, naming every problem, and exits non-zero', () => {
    const r = cli(['serve'], { EARSHOT_PORT: 'abc', EARSHOT_HOST: '', EARSHOT_DATA_DIR: tempDir() });
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('EARSHOT_PORT="abc"');
    expect(r.err).toContain('EARSHOT_HOST=""');
    expect(r.err).toContain('2 configuration problems');
  });

  it('launcher: sets the memory settings, and a value the user set wins', () => {
    const defaults = launcherEnv();
    expect(defaults.MALLOC_ARENA_MAX).toBe('2');
    expect(defaults.NODE_OPTIONS).toBe(`--max-semi-space-size=4${POOL}`);
    const jemalloc = jemallocHere();
    if (jemalloc) {
      expect(defaults.LD_PRELOAD).toBe(jemalloc);
      expect(defaults.MALLOC_CONF).toContain('background_thread:true');
    } else {
      console.warn('libjemalloc2 is not installed here: the launcher keeps glibc malloc (checked: no LD_PRELOAD)');
      expect(defaults.LD_PRELOAD).toBeUndefined();
    }
    const mine = launcherEnv({
      MALLOC_ARENA_MAX: '4',
      NODE_OPTIONS: '--max-semi-space-size=16 --trace-warnings',
      EARSHOT_ALLOCATOR: 'system',
    });
    expect(mine).toEqual({ MALLOC_ARENA_MAX: '4', NODE_OPTIONS: `--max-semi-space-size=16 --trace-warnings${POOL}` });
    expect(launcherEnv({ NODE_OPTIONS: '--trace-warnings' }).NODE_OPTIONS).toBe(
      `--trace-warnings --max-semi-space-size=4${POOL}`,
    );
    expect(launcherEnv({ NODE_OPTIONS: '--v8-pool-size=8' }).NODE_OPTIONS).toBe(
      '--v8-pool-size=8 --max-semi-space-size=4',
    );
  });

  it('launcher: V8 gets as many helper threads as the CPUs it may use, when fewer than 4', () => {
    // Pinned to one CPU (taskset, util-linux), the launcher sees one; on any machine.
    const pinned = spawnSync('taskset', ['-c', '0', 'sh', LAUNCHER, '--env'], {
      encoding: 'utf8',
      env: { PATH: PATH_WITH_NODE },
    });
    if (pinned.error) {
      console.warn(`taskset is not available here (${pinned.error.message}): pinned launcher check skipped`);
    } else {
      expect(pinned.status, pinned.stderr).toBe(0);
      expect(pinned.stdout).toContain('NODE_OPTIONS=--max-semi-space-size=4 --v8-pool-size=1\n');
    }
    // And what this machine gets.
    expect(launcherEnv().NODE_OPTIONS).toBe(`--max-semi-space-size=4${POOL}`);
    expect(launcherEnv({ LD_PRELOAD: '/opt/mine.so' }).LD_PRELOAD).toBe('/opt/mine.so');
  });

  it('launcher: becomes the server (same process, settings in effect) and stops it on SIGTERM', async () => {
    const data = tempDir();
    const child = spawn('sh', [LAUNCHER], {
      env: { ...serveEnv(data), PATH: PATH_WITH_NODE },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const line = await waitForLine(child, /Earshot is listening on/);
    expect((await fetch(`${JSON.parse(line).address}/healthz`)).status).toBe(200);
    // `exec`: the shell's pid is now node's, with the settings in its environment and memory map.
    const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
    expect(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8')).toContain('earshot.js');
    expect(environ).toContain('MALLOC_ARENA_MAX=2');
    expect(environ).toContain(`NODE_OPTIONS=--max-semi-space-size=4${POOL}`);
    const jemalloc = jemallocHere();
    if (jemalloc) expect(readFileSync(`/proc/${child.pid}/maps`, 'utf8')).toContain('libjemalloc');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('config prints the effective configuration with sources and secrets redacted', () => {
    const data = tempDir();
    const secret = 'cli-config-test-secret-0123456789-abcdefghijkl';
    const r = cli(['config', '--json'], { EARSHOT_DATA_DIR: data, EARSHOT_SECRET_KEY: secret, EARSHOT_PORT: '8123' });
    expect(r.code).toBe(0);
    expect(r.out).not.toContain(secret);
    const rows = JSON.parse(r.out).settings as { env: string; value: string; source: string }[];
    expect(rows.find((x) => x.env === 'EARSHOT_PORT')).toMatchObject({ value: '8123', source: 'environment' });
    expect(rows.find((x) => x.env === 'EARSHOT_HOST')).toMatchObject({ value: '127.0.0.1', source: 'default' });
    expect(rows.find((x) => x.env === 'EARSHOT_SECRET_KEY')).toMatchObject({ value: '<redacted>' });
    expect(rows.find((x) => x.env === 'EARSHOT_MUSIC_DIR')).toMatchObject({ value: join(data, 'library') });
  });

  it('doctor names a missing ffmpeg and the exact command to install it', () => {
    const data = tempDir();
    // PATH holds a folder with only `node` in it: ffmpeg and ffprobe cannot be found.
    const bin = tempDir();
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = cli(['doctor'], { EARSHOT_DATA_DIR: data, PATH: bin });
    expect(r.out).toContain('ffmpeg not found');
    expect(r.out).toContain('sudo apt-get install -y ffmpeg');
    expect(r.out).toMatch(/Music folder is writable/);
    expect(r.code).toBe(0); // missing ffmpeg is a warning: the server still runs
  });
});

/** The commands that open the database, on SQLite (a file in the data folder) and on PostgreSQL. */
forEachServerEngine((engine) => {
  describe('earshot CLI on the database', () => {
    /** The server's database settings: none on SQLite, a fresh PostgreSQL database's URL else. */
    const databaseEnv = async (): Promise<Record<string, string>> => {
      const url = await testDatabaseUrl();
      return url ? { EARSHOT_DATABASE_URL: url } : {};
    };

    it('migrate creates and then reports an up-to-date database', async () => {
      const data = tempDir();
      const env = { EARSHOT_DATA_DIR: data, ...(await databaseEnv()) };
      const first = cli(['migrate'], env);
      expect(first.code, first.err).toBe(0);
      expect(first.out).toContain('applied 0001_initial');
      // On PostgreSQL no SQLite file appears beside the data: the tables live in the database named.
      expect(existsSync(join(data, 'db', 'earshot.db'))).toBe(engine === 'sqlite');
      if (engine === 'postgres') expect(first.out).toMatch(/Database: postgres:\/\/earshot@127\.0\.0\.1:\d+\//);
      const second = cli(['migrate'], env);
      expect(second.code).toBe(0);
      expect(second.out).toContain('Up to date');
    });

    it('doctor reports ffmpeg and yt-dlp versions and a healthy database', async () => {
      const data = tempDir();
      const env = { EARSHOT_DATA_DIR: data, ...(await databaseEnv()) };
      expect(cli(['migrate'], env).code).toBe(0);
      const r = cli(['doctor'], env);
      expect(r.out).toMatch(/✓ ffmpeg \d/);
      expect(r.out).toMatch(/yt-dlp \d{4}\.\d{2}\.\d{2}/);
      if (engine === 'sqlite') expect(r.out).toContain('Database passes quick_check');
      else {
        expect(r.out).toMatch(/PostgreSQL \d+(\.\d+)? answers at postgres:\/\/\S+ \(\d+ migrations applied\)/);
        expect(r.out).not.toContain('quick_check');
      }
    });

    it('serve stops cleanly on SIGTERM within the deadline, leaving a sound database', async () => {
      const data = tempDir();
      const databaseUrl = await testDatabaseUrl();
      const child = spawn(process.execPath, [CLI_BIN, 'serve'], {
        env: {
          ...serveEnv(data),
          ...(databaseUrl ? { EARSHOT_DATABASE_URL: databaseUrl } : {}),
          PATH: process.env.PATH,
          EARSHOT_SHUTDOWN_TIMEOUT_MS: '3000',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      const line = await waitForLine(child, /Earshot is listening on/);
      const address = JSON.parse(line).address as string;
      const res = await fetch(`${address}/healthz`);
      expect(res.status).toBe(200);
      // A client stuck half-way through its request headers must not hold shutdown past the deadline.
      const { port } = new URL(address);
      const stuck = connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => stuck.once('connect', resolve));
      stuck.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      stuck.on('error', () => {});
      const started = Date.now();
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const code = await exited;
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(3000 + 4000);
      stuck.destroy();
      if (!databaseUrl) {
        const db = new SQLite(join(data, 'db', 'earshot.db'), { readonly: true });
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        db.close();
        return;
      }
      // PostgreSQL: every connection of the server (pool, leader lock, watches) was closed, so a
      // replica started next takes the lead at once instead of waiting for a dead session to time out.
      const other = new pg.Client({ connectionString: databaseUrl });
      await other.connect();
      try {
        const { rows } = await other.query<{ n: string }>(
          'select count(*) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
        );
        expect(Number(rows[0]?.n)).toBe(0);
        const { rows: tables } = await other.query<{ n: string }>('select count(*) as n from kysely_migration');
        expect(Number(tables[0]?.n)).toBeGreaterThan(0);
      } finally {
        await other.end();
      }
    });
  });
});
