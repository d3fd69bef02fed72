/**
 * Two real server processes (the built CLI) on one PostgreSQL database and one data folder:
 * a session made on A works on B, a sign-out on A is refused on B, failed sign-ins on A throttle
 * B, exactly one replica leads, and `kill -9` of the leader hands the lead to the other.
 *
 * Needs the server to run on PostgreSQL (EARSHOT_DATABASE_URL). Until it does
 * (`SERVES_FROM_POSTGRES` in db/engine.ts: the scanner and search still need SQLite) this file is
 * skipped and says so.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { SERVES_FROM_POSTGRES } from '../db/engine.js';
import { CLI_BIN } from '../test/build.js';
import { createTestDatabase } from '../test/postgres.js';

const context = { url: inject('pgUrl'), skipReason: inject('pgSkipReason') };

const engineReady = SERVES_FROM_POSTGRES;
if (!engineReady)
  console.warn(
    'Replica test skipped: `earshot serve` does not run on PostgreSQL yet (SERVES_FROM_POSTGRES in db/engine.ts).',
  );
const database = engineReady ? await createTestDatabase(context, 'replicas') : undefined;
const data = mkdtempSync(join(tmpdir(), 'earshot-replicas-'));
const keyFile = join(data, 'secret_key');
writeFileSync(keyFile, 'replica-test-key-0123456789-abcdefghijklmnop\n', { mode: 0o600 });
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await database?.drop();
  rmSync(data, { recursive: true, force: true });
});

interface Replica {
  child: ChildProcess;
  url: string;
  /** Log lines so far (JSON). */
  lines: string[];
}

function startReplica(name: string): Promise<Replica> {
  const child = spawn(process.execPath, [CLI_BIN, 'serve'], {
    env: {
      PATH: process.env.PATH,
      HOSTNAME: name,
      EARSHOT_DATA_DIR: data,
      EARSHOT_PORT: '0',
      EARSHOT_LOG_FORMAT: 'json',
      EARSHOT_SCAN_ON_START: 'false',
      EARSHOT_WATCH: 'false',
      EARSHOT_DATABASE_URL: database?.url,
      EARSHOT_SECRET_KEY_FILE: keyFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (/Earshot is listening on/.test(line)) resolve({ child, url: JSON.parse(line).address, lines });
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}):\n${lines.join('\n')}`)));
  });
}

const role = async (r: Replica) => ((await (await fetch(`${r.url}/healthz`)).json()) as { role: string }).role;

/** Polls two servers' /healthz until exactly `wanted` leads (the hand-over is asynchronous). */
async function untilLeader(wanted: Replica, other?: Replica): Promise<void> {
  for (;;) {
    if ((await role(wanted)) === 'leader' && (!other || (await role(other)) === 'follower')) return;
    await new Promise((r) => setImmediate(r));
  }
}

describe.skipIf(!database)('two server processes on one PostgreSQL', () => {
  it('share sessions, throttling and the leader; kill -9 of the leader hands over', async () => {
    const setup = spawnSync(
      process.execPath,
      [CLI_BIN, 'user', 'add', 'alice', '--role', 'admin', '--password', 'alice-password-1'],
      {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          EARSHOT_DATA_DIR: data,
          EARSHOT_DATABASE_URL: database?.url,
          EARSHOT_SECRET_KEY_FILE: keyFile,
        },
      },
    );
    expect(setup.status, setup.stderr).toBe(0);
    const a = await startReplica('replica-a');
    const b = await startReplica('replica-b');

    // Sign in on A, use the cookie on B; sign out on A, refused on B.
    const login = await fetch(`${a.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: a.url },
      body: JSON.stringify({ username: 'alice', password: 'alice-password-1' }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    expect((await fetch(`${b.url}/auth/status`, { headers: { cookie } })).status).toBe(200);
    const me = (await (await fetch(`${b.url}/api/v1/me`, { headers: { cookie } })).json()) as { username: string };
    expect(me.username).toBe('alice');
    await fetch(`${a.url}/auth/logout`, { method: 'POST', headers: { cookie, origin: a.url } });
    expect((await fetch(`${b.url}/api/v1/me`, { headers: { cookie } })).status).toBe(401);

    // Five wrong passwords on A: B refuses the sixth attempt for that account.
    for (let i = 0; i < 5; i++) {
      const bad = await fetch(`${a.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: a.url },
        body: JSON.stringify({ username: 'alice', password: `wrong-${i}` }),
      });
      expect(bad.status).toBe(401);
    }
    let throttled = 0;
    while (throttled !== 429) {
      throttled = (
        await fetch(`${b.url}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: b.url },
          body: JSON.stringify({ username: 'alice', password: 'wrong-again' }),
        })
      ).status;
      expect([401, 429]).toContain(throttled);
    }

    // Exactly one leads; kill -9 it and the other takes over.
    const [leader, follower] = (await role(a)) === 'leader' ? [a, b] : [b, a];
    expect(await role(follower)).toBe('follower');
    leader.child.kill('SIGKILL');
    await untilLeader(follower);
  });
});
