/**
 * Soak run: `npm run bench:soak -- --minutes N` (not in CI; default 5).
 *
 * A real Earshot in a child process with a small scanned library, under, for N minutes:
 *  - 50 concurrent listeners looping over whole tracks, half direct and half transcoded (Opus);
 *  - 50 searches per second;
 *  - playlist writes (add and remove entries, several per second);
 *  - a full rescan every minute.
 * Every minute it prints errors (any status ≥ 500 or network error; 503 "busy" counts too),
 * p99 latencies per kind, the server's RSS and open file descriptors. Targets (issue 13): zero
 * errors, RSS growth ≤ 10 % from the first to the last minute, fds flat.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

interface ServerInfo {
  base: string;
  cookie: string;
  trackIds: string[];
  playlistId: string;
  pid: number;
}

const WORDS = ['midnight', 'lovely', 'blue', 'café', 'shadow', 'glass', 'über', 'river', 'north', 'ember'];

// ── child: the server under test ──
async function serve(): Promise<void> {
  const { loadConfig } = await import('../server/src/config/load.js');
  const { createEarshot } = await import('../server/src/main.js');
  const { newId } = await import('../server/src/shared/ids.js');
  const { makeAudio } = await import('../server/src/test/audio.js');
  const dir = mkdtempSync(join(tmpdir(), 'earshot-soak-'));
  const { config } = loadConfig({
    env: {
      EARSHOT_DATA_DIR: dir,
      EARSHOT_PORT: '0',
      EARSHOT_LOG_LEVEL: 'error',
      EARSHOT_SCAN_ON_START: 'false',
      EARSHOT_WATCH: 'false',
      EARSHOT_FULL_SCAN_INTERVAL_MINUTES: '0',
      EARSHOT_TRANSCODE_MAX: '30',
      EARSHOT_TRANSCODE_MAX_PER_USER: '30',
    },
    argv: [],
    envFile: null,
    cwd: dir,
  });
  for (let i = 0; i < 20; i++) {
    const a = WORDS[i % WORDS.length];
    const b = WORDS[(i * 3 + 1) % WORDS.length];
    await makeAudio(join(config.musicDir, `Artist ${i % 4}/Album ${i % 5}/${i} - ${a} ${b}.mp3`), {
      seconds: 8,
      tags: { title: `${a} ${b} ${i}`, artist: `Artist ${i % 4}`, album: `Album ${i % 5}`, track: String(i + 1) },
    });
  }
  const earshot = await createEarshot(config, { background: false });
  const userId = newId();
  const now = Date.now();
  await earshot.database.db
    .insertInto('users')
    .values({
      id: userId,
      username: 'soak',
      username_key: 'soak',
      password_hash: null,
      role: 'admin',
      email: null,
      display_name: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  // Files younger than the settle time are left for a later scan: age them.
  const old = new Date(Date.now() - 3_600_000);
  for (const f of readdirSync(config.musicDir, { recursive: true }) as string[]) {
    if (f.endsWith('.mp3')) utimesSync(join(config.musicDir, f), old, old);
  }
  await earshot.library.service.runScan({ full: true, trigger: 'soak' });
  const tracks = await earshot.database.db.selectFrom('tracks').select('id').execute();
  const playlistId = newId();
  await earshot.database.db
    .insertInto('playlists')
    .values({ id: playlistId, owner_id: userId, name: 'Soak', created_at: now, updated_at: now })
    .execute();
  const session = await earshot.sessions.create(userId, { userAgent: 'soak' });
  const address = await earshot.listen();
  const info: ServerInfo = {
    base: address,
    cookie: `earshot_session=${session.cookieValue}`,
    trackIds: tracks.map((t) => t.id),
    playlistId,
    pid: process.pid,
  };
  process.stdout.write(`SOAK-SERVER ${JSON.stringify(info)}\n`);
  const stop = async () => {
    await earshot.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

// ── parent: the load ──
type Kind = 'direct' | 'transcode' | 'search' | 'write' | 'scan';

function call(
  info: ServerInfo,
  agent: Agent,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; ms: number }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { cookie: info.cookie };
    if (payload) headers['content-type'] = 'application/json';
    const req = request(`${info.base}${path}`, { agent, method, headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - start }));
      res.on('error', () => resolve({ status: 0, ms: performance.now() - start }));
    });
    req.on('error', () => resolve({ status: 0, ms: performance.now() - start }));
    req.end(payload);
  });
}

const p99 = (xs: number[]) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)];
};

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function main(): Promise<void> {
  const minutes = arg('minutes', 5);
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const info = await new Promise<ServerInfo>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith('SOAK-SERVER ')) resolve(JSON.parse(line.slice(12)));
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  console.log(`soak: ${minutes} min against ${info.base} (${info.trackIds.length} tracks, server pid ${info.pid})`);
  const agent = new Agent({ keepAlive: true, maxSockets: 200 });
  const end = Date.now() + minutes * 60_000;
  let lat: Record<Kind, number[]> = { direct: [], transcode: [], search: [], write: [], scan: [] };
  let errors: string[] = [];
  let totalErrors = 0;
  const record = (kind: Kind, r: { status: number; ms: number }, what: string) => {
    lat[kind].push(r.ms);
    // 409 = a scan already running: expected when the previous one is not done.
    if (r.status === 0 || r.status >= 500 || (r.status >= 400 && r.status !== 409)) {
      errors.push(`${what} → ${r.status}`);
      totalErrors += 1;
    }
  };
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];

  const listeners = Array.from({ length: 50 }, async (_, i) => {
    const transcode = i % 2 === 1;
    while (Date.now() < end) {
      const id = pick(info.trackIds);
      const path = transcode ? `/stream/${id}?format=opus&maxBitRate=96` : `/stream/${id}`;
      record(transcode ? 'transcode' : 'direct', await call(info, agent, 'GET', path), path);
    }
  });
  const searches = setInterval(() => {
    const q = pick(WORDS).slice(0, 2 + Math.floor(Math.random() * 4));
    void call(info, agent, 'GET', `/api/v1/search/local?q=${encodeURIComponent(q)}`).then((r) =>
      record('search', r, `search ${q}`),
    );
  }, 20);
  const writes = setInterval(() => {
    const path = `/api/v1/playlists/${info.playlistId}/tracks`;
    void call(info, agent, 'POST', path, { trackIds: [pick(info.trackIds)] }).then((r) =>
      record('write', r, 'playlist add'),
    );
  }, 200);
  const scans = setInterval(() => {
    void call(info, agent, 'POST', '/api/v1/scan', { full: true }).then((r) => record('scan', r, 'rescan'));
  }, 60_000);
  const rss: number[] = [];
  const fds: number[] = [];
  let minute = 0;
  const printMinute = () => {
    minute += 1;
    rss.push(rssMb(info.pid));
    fds.push(readdirSync(`/proc/${info.pid}/fd`).length);
    const f = (xs: number[]) => `${p99(xs).toFixed(1)} ms (${xs.length})`;
    console.log(
      `min ${minute}: errors ${errors.length} | p99 direct ${f(lat.direct)}, transcode ${f(lat.transcode)}, search ${f(lat.search)}, write ${f(lat.write)} | RSS ${rss.at(-1)?.toFixed(1)} MB | fds ${fds.at(-1)}`,
    );
    if (errors.length > 0) console.log(`  first errors: ${errors.slice(0, 5).join('; ')}`);
    lat = { direct: [], transcode: [], search: [], write: [], scan: [] };
    errors = [];
  };
  const report = setInterval(printMinute, 60_000);
  await Promise.all(listeners);
  // The last (partial) minute.
  if (lat.direct.length > 0) printMinute();
  clearInterval(searches);
  clearInterval(writes);
  clearInterval(scans);
  clearInterval(report);
  const growth = rss.length > 1 ? ((rss[rss.length - 1] - rss[0]) / rss[0]) * 100 : 0;
  console.log(
    `soak done: ${totalErrors} errors; RSS ${rss[0]?.toFixed(1)} → ${rss.at(-1)?.toFixed(1)} MB (${growth.toFixed(1)} %); fds ${fds[0]} → ${fds.at(-1)}`,
  );
  agent.destroy();
  child.kill('SIGTERM');
  process.exitCode = totalErrors === 0 && growth <= 10 ? 0 : 1;
}

if (process.argv.includes('--serve')) void serve();
else void main();
