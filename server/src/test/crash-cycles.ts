/**
 * kill -9 cycles against the real server binary (issue 13): each cycle starts `earshot serve` on
 * the world's data dir, lets three users like, play and edit playlists while the scan on start
 * runs (sometimes a full rescan too) and remote tracks download from a slow origin, then kills it
 * with SIGKILL at a random moment — during start-up in some cycles — and checks what it left
 * (`checkAfterKill`). A last clean run must finish the interrupted scans and cache jobs.
 *
 * Seeded: the same seed gives the same choices (the server's own timing still varies).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import SQLite from 'better-sqlite3';
import { CLI_BIN } from './build.js';
import { type CrashUser, type CrashWorld, checkAfterKill, createWorld } from './crash-world.js';

export interface CrashRunOptions {
  cycles: number;
  seed: number;
  /** After each cycle (progress output of the bench). */
  onCycle?: (cycle: CycleReport) => void;
  /** Stops at the first cycle with a problem (the test: one clear failure beats a hundred). */
  stopOnProblem?: boolean;
}

export interface CycleReport {
  cycle: number;
  /** Killed before the server said it was listening. */
  duringStartUp: boolean;
  upMs: number;
  acknowledged: number;
  unanswered: number;
  problems: string[];
}

export interface CrashReport {
  seed: number;
  cycles: number;
  killedDuringStartUp: number;
  acknowledged: number;
  unanswered: number;
  scansFinished: number;
  downloadsCompleted: number;
  /** Every problem, prefixed with its cycle ("final" for the clean run at the end). */
  problems: string[];
  ms: number;
  /** How long the last start-up took (spawn to listening): start-up kills land within it. */
  lastStartUpMs: number;
  /** "job failed" log lines with their error: a job that failed waits out its backoff. */
  jobFailures: string[];
}

/** mulberry32: small, seedable, good enough to pick moments and operations. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Child {
  process: ChildProcess;
  /** Resolves with the base URL once listening; rejects if the process ends first. */
  listening: Promise<string>;
  exited: Promise<void>;
  counts: { scansFinished: number; downloadsCompleted: number };
  onLine(fn: () => void): void;
  stderr: string[];
}

/**
 * The world kills the server hundreds of times, often mid-download, and each kill counts an attempt
 * of the running cache job: past `max_attempts` a job is given up (jobs.repository.ts
 * `recoverRunning`, tested in sources/crash-recovery.test.ts). Jobs queued since the world was made
 * (a dropped cached file queues one again) must outlive any number of kills to be checked for
 * completion, so before each start every job gets a practically unlimited budget.
 */
function unlimitedJobAttempts(world: CrashWorld): void {
  const db = new SQLite(world.dbFile);
  try {
    db.prepare('update jobs set max_attempts = 1000000 where max_attempts < 1000000').run();
  } finally {
    db.close();
  }
}

function startServer(world: CrashWorld): Child {
  unlimitedJobAttempts(world);
  const child = spawn(process.execPath, [CLI_BIN, 'serve'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      EARSHOT_DATA_DIR: world.dir,
      EARSHOT_PORT: '0',
      EARSHOT_LOG_FORMAT: 'json',
      EARSHOT_LOG_LEVEL: 'info',
      EARSHOT_WATCH: 'false',
      EARSHOT_FULL_SCAN_INTERVAL_MINUTES: '0',
      EARSHOT_SOURCES_YOUTUBE: 'false',
      EARSHOT_SOURCES_SOUNDCLOUD: 'false',
      EARSHOT_YTDLP: '/usr/bin/yt-dlp',
      EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const counts = { scansFinished: 0, downloadsCompleted: 0 };
  const listeners: (() => void)[] = [];
  const stderr: string[] = [];
  child.stderr?.on('data', (b: Buffer) => stderr.push(b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg = '';
      let address: unknown;
      let err: unknown;
      try {
        ({ msg, address, err } = JSON.parse(line) as { msg: string; address?: unknown; err?: unknown });
      } catch {
        return;
      }
      // Kept for the final report: a job left undone says what failed it before.
      if (msg.startsWith('job failed')) world.jobFailures.push(`${msg}: ${JSON.stringify(err)}`);
      if (msg.startsWith('Earshot is listening on') && typeof address === 'string') resolve(address);
      else if (msg === 'library scan finished') counts.scansFinished += 1;
      else if (msg === 'remote track cached') counts.downloadsCompleted += 1;
      for (const fn of listeners) fn();
    });
    child.once('exit', (code, signal) => reject(new Error(`server ended (${signal ?? code}) before listening`)));
  });
  listening.catch(() => undefined);
  return { process: child, listening, exited, counts, onLine: (fn) => listeners.push(fn), stderr };
}

/** One user's stream of writes until the server dies; every answer goes into the ledger. */
async function userLoop(
  world: CrashWorld,
  base: string,
  user: CrashUser,
  cycle: number,
  random: () => number,
  alive: () => boolean,
  problems: string[],
  acknowledged: () => void,
): Promise<void> {
  const { ledger } = world;
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  let n = 0;
  while (alive()) {
    const r = random();
    const mine = [...ledger.playlists].filter(([, p]) => p.owner === user.id);
    let op: 'like' | 'play' | 'create' | 'add';
    if (r < 0.35) op = 'like';
    else if (r < 0.6) op = 'play';
    else if (r < 0.7 || mine.length === 0) op = 'create';
    else op = 'add';
    const track = pick(world.trackIds);
    let method = 'POST';
    let path: string;
    let body: unknown;
    const playlist = op === 'add' ? pick(mine) : undefined;
    const liked = random() < 0.6;
    const name = `c${cycle}-${user.name}-${n++}`;
    if (op === 'like') {
      method = liked ? 'PUT' : 'DELETE';
      path = `/api/v1/likes/track/${track}`;
    } else if (op === 'play') {
      path = '/api/v1/plays';
      body = { trackId: track, secondsPlayed: 300, client: 'crash-suite' };
    } else if (op === 'create') {
      path = '/api/v1/playlists';
      body = { name };
    } else path = `/api/v1/playlists/${playlist![0]}/tracks`;
    if (op === 'add') body = { trackIds: [track] };

    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers:
          body === undefined ? { cookie: user.cookie } : { cookie: user.cookie, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      // No answer: the server died with this request in flight; it may or may not have landed.
      ledger.unanswered += 1;
      const key = `${user.id}|${track}`;
      if (op === 'like') ledger.likes.set(key, null);
      else if (op === 'play') ledger.plays.get(user.id)!.maybe += 1;
      else if (op === 'create') ledger.playlistCount.get(user.id)!.maybe += 1;
      else playlist![1].entries.maybe += 1;
      return;
    }
    let json: { id?: string; counted?: boolean; added?: number } = {};
    try {
      const text = await res.text();
      if (text) json = JSON.parse(text);
    } catch {
      // The body was cut by the kill: the status line arrived, so the write was acknowledged.
    }
    if (res.status >= 300) {
      // 429 is throttling (nothing written); anything else means the suite or the server is wrong.
      if (res.status !== 429) problems.push(`${method} ${path} → ${res.status} ${JSON.stringify(json).slice(0, 200)}`);
      continue;
    }
    ledger.acknowledged += 1;
    acknowledged();
    if (op === 'like') ledger.likes.set(`${user.id}|${track}`, liked);
    else if (op === 'play') {
      if (json.counted) ledger.plays.get(user.id)!.sure += 1;
    } else if (op === 'create' && json.id) {
      ledger.playlists.set(json.id, { owner: user.id, name, entries: { sure: 0, maybe: 0 } });
      ledger.playlistCount.get(user.id)!.sure += 1;
    } else if (op === 'add') playlist![1].entries.sure += json.added ?? 1;
  }
}

/** The administrator: sometimes a full rescan, sometimes drops a cached download and plays it again. */
async function adminWork(world: CrashWorld, base: string, admin: CrashUser, random: () => number): Promise<void> {
  const headers = { cookie: admin.cookie, 'content-type': 'application/json' };
  try {
    if (random() < 0.3)
      await fetch(`${base}/api/v1/scan`, { method: 'POST', headers, body: JSON.stringify({ full: true }) });
    if (random() < 0.5) {
      const ids = [...world.remote.keys()];
      const id = ids[Math.floor(random() * ids.length)];
      await fetch(`${base}/api/v1/tracks/${id}/cache`, { method: 'DELETE', headers: { cookie: admin.cookie } });
      // A listener download (the transparent caching proxy) in flight when the kill comes.
      const res = await fetch(`${base}/stream/${id}`, { headers: { cookie: admin.cookie } });
      await res.arrayBuffer();
    }
  } catch {
    // Killed meanwhile: what it started is checked on disk.
  }
}

async function cycle(
  world: CrashWorld,
  index: number,
  random: () => number,
  report: CrashReport,
): Promise<CycleReport> {
  if (random() < 0.5) world.addLibraryFiles(1 + Math.floor(random() * 3));
  const ack0 = world.ledger.acknowledged;
  const un0 = world.ledger.unanswered;
  const problems: string[] = [];
  const started = Date.now();
  const child = startServer(world);
  let dead = false;
  const kill = () => {
    if (!dead) child.process.kill('SIGKILL');
    dead = true;
  };
  // Where the kill lands: in 15 % of the cycles during start-up (at a random moment within the
  // previous start-up's duration: migrations, cache recovery, the scan on start…); otherwise at a
  // random moment within a second of the first acknowledged write (within five in a fifth of
  // them, so scans get further), so writes are in flight whatever the machine's speed.
  const duringStartUp = random() < 0.15;
  const upFor = random() * (duringStartUp ? report.lastStartUpMs : random() < 0.2 ? 5000 : 1000);
  const work: Promise<void>[] = [];
  let listened = false;
  let timer: NodeJS.Timeout | undefined;
  const killSoon = () => {
    if (timer === undefined && !dead) timer = setTimeout(kill, upFor);
  };
  if (duringStartUp) killSoon();
  // A server that never answers a write (every request refused) is still killed.
  const fallback = setTimeout(kill, 60_000);
  try {
    const base = await child.listening;
    listened = !dead;
    if (listened) report.lastStartUpMs = Date.now() - started;
    if (!dead) {
      const admin = world.users.find((u) => u.admin)!;
      // Each actor draws from its own stream, so its choices do not depend on the others' timing.
      const stream = (k: number) =>
        seededRandom(report.seed ^ Math.imul(index, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b));
      work.push(adminWork(world, base, admin, stream(world.users.length)));
      world.users.forEach((user, k) => {
        work.push(userLoop(world, base, user, index, stream(k), () => !dead, problems, killSoon));
      });
    }
  } catch (err) {
    if (!dead) problems.push(`${(err as Error).message}: ${child.stderr.join('').slice(-500)}`);
  }
  await child.exited;
  dead = true;
  clearTimeout(timer);
  clearTimeout(fallback);
  await Promise.all(work);
  report.scansFinished += child.counts.scansFinished;
  report.downloadsCompleted += child.counts.downloadsCompleted;
  problems.push(...checkAfterKill(world));
  return {
    cycle: index,
    duringStartUp: !listened,
    upMs: Date.now() - started,
    acknowledged: world.ledger.acknowledged - ack0,
    unanswered: world.ledger.unanswered - un0,
    problems,
  };
}

/**
 * A job that failed in a cycle waits out its backoff (30 s × 2^(attempts − 1), and every kill
 * mid-download counted an attempt), which can outlast the final run's 120 s: CI once saw one cache
 * job still queued. The backoff is the job runner's own (job-runner.test.ts); here every queued job
 * may run at once, and the failures seen are in the report.
 */
function retryQueuedJobsNow(world: CrashWorld): void {
  const db = new SQLite(world.dbFile);
  try {
    db.prepare("update jobs set run_after = ? where state = 'queued' and run_after > ?").run(Date.now(), Date.now());
  } finally {
    db.close();
  }
}

/** The clean run at the end: interrupted scans and cache jobs must now complete. */
async function finish(world: CrashWorld, report: CrashReport): Promise<string[]> {
  retryQueuedJobsNow(world);
  const child = startServer(world);
  const problems: string[] = [];
  try {
    await child.listening;
    await new Promise<void>((resolve, reject) => {
      // Woken by every log line, and polled: the last job can be marked done after the last line.
      const poll = setInterval(() => check(), 250);
      const settle = (err?: Error) => {
        clearInterval(poll);
        clearTimeout(deadline);
        if (err) reject(err);
        else resolve();
      };
      const deadline = setTimeout(() => settle(new Error('scans and cache jobs did not finish within 120 s')), 120_000);
      const check = () => {
        if (child.counts.scansFinished === 0) return;
        const db = new SQLite(world.dbFile, { readonly: true });
        try {
          const { n } = db.prepare("select count(*) n from jobs where state in ('queued', 'running')").get() as {
            n: number;
          };
          if (n === 0) settle();
        } finally {
          db.close();
        }
      };
      child.onLine(check);
      child.exited.then(() => settle(new Error('server ended during the final run')));
    });
  } catch (err) {
    const failures = world.jobFailures.slice(-5).join(' | ');
    problems.push(
      `${(err as Error).message}: ${child.stderr.join('').slice(-500)}${failures ? ` (job failures seen: ${failures})` : ''}`,
    );
  }
  child.process.kill('SIGTERM');
  await child.exited;
  report.scansFinished += child.counts.scansFinished;
  report.downloadsCompleted += child.counts.downloadsCompleted;
  problems.push(...checkAfterKill(world, { final: true }));
  return problems;
}

export async function runCrashCycles(options: CrashRunOptions): Promise<CrashReport> {
  const started = Date.now();
  const random = seededRandom(options.seed);
  const dir = mkdtempSync(join(tmpdir(), 'earshot-crash-suite-'));
  const report: CrashReport = {
    seed: options.seed,
    cycles: 0,
    killedDuringStartUp: 0,
    acknowledged: 0,
    unanswered: 0,
    scansFinished: 0,
    downloadsCompleted: 0,
    problems: [],
    ms: 0,
    lastStartUpMs: 2000,
    jobFailures: [],
  };
  const world = await createWorld(dir);
  try {
    for (let i = 1; i <= options.cycles; i++) {
      const c = await cycle(world, i, random, report);
      report.cycles = i;
      if (c.duringStartUp) report.killedDuringStartUp += 1;
      report.problems.push(...c.problems.map((p) => `cycle ${i}: ${p}`));
      options.onCycle?.(c);
      if (options.stopOnProblem && c.problems.length > 0) break;
    }
    report.problems.push(...(await finish(world, report)).map((p) => `final: ${p}`));
  } finally {
    await world.origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
  report.acknowledged = world.ledger.acknowledged;
  report.unanswered = world.ledger.unanswered;
  report.jobFailures = world.jobFailures;
  report.ms = Date.now() - started;
  return report;
}
