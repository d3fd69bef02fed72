/**
 * Real `earshot serve` processes (the built CLI) sharing one PostgreSQL database, one data folder
 * and one server key: the replicas of cluster/replicas.test.ts and
 * sources/cache/downloads.replicas.test.ts. Each is killed (SIGKILL) by {@link ReplicaSet.killAll}.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_BIN } from './build.js';

export interface Replica {
  child: ChildProcess;
  url: string;
  /** Log lines so far (JSON). */
  lines: string[];
}

export class ReplicaSet {
  readonly children: ChildProcess[] = [];
  readonly keyFile: string;

  constructor(
    readonly data: string,
    readonly databaseUrl: string,
  ) {
    this.keyFile = join(data, 'secret_key');
    writeFileSync(this.keyFile, 'replica-test-key-0123456789-abcdefghijklmnop\n', { mode: 0o600 });
  }

  private env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      EARSHOT_DATA_DIR: this.data,
      EARSHOT_DATABASE_URL: this.databaseUrl,
      EARSHOT_SECRET_KEY_FILE: this.keyFile,
      ...extra,
    };
  }

  /** Runs `earshot user add` against the shared database; throws with its stderr when it fails. */
  addUser(name: string, password: string, role = 'admin'): void {
    const out = spawnSync(process.execPath, [CLI_BIN, 'user', 'add', name, '--role', role, '--password', password], {
      encoding: 'utf8',
      env: this.env(),
    });
    if (out.status !== 0) throw new Error(`earshot user add ${name} failed (${out.status}): ${out.stderr}`);
  }

  /** Starts a replica; resolves once it listens (rejects, with its log, when it exits first). */
  start(name: string, extraEnv: Record<string, string> = {}): Promise<Replica> {
    const child = spawn(process.execPath, [CLI_BIN, 'serve'], {
      env: this.env({
        HOSTNAME: name,
        EARSHOT_PORT: '0',
        EARSHOT_LOG_FORMAT: 'json',
        EARSHOT_SCAN_ON_START: 'false',
        EARSHOT_WATCH: 'false',
        ...extraEnv,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.push(child);
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

  killAll(): void {
    for (const child of this.children) child.kill('SIGKILL');
  }
}

/** Signs a user in on a replica; returns the session cookie. */
export async function signIn(r: Replica, username: string, password: string): Promise<string> {
  const res = await fetch(`${r.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: r.url },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in as ${username} on ${r.url}: ${res.status} ${await res.text()}`);
  return (res.headers.get('set-cookie') ?? '').split(';')[0];
}
