/**
 * Soak run: `npm run bench:soak -- --minutes N` (not in CI; default 5).
 *
 * The real server binary started by its launcher (`scripts/earshot-serve.sh`: `server/dist` with
 * the memory settings users get; `npm run build -w server` first) with a small scanned library,
 * under, for N minutes:
 *  - 50 concurrent listeners looping over whole tracks, half direct and half transcoded (Opus);
 *  - 50 searches per second;
 *  - playlist writes (five additions and up to five removals per second, ~100 entries);
 *  - a full rescan every minute.
 * Every minute it prints the failures, split by where they come from:
 *  - **server errors**: 5xx (503 "busy" too), 408, unexpected 4xx, a connection the server closed
 *    before answering on a fresh socket, and error-level lines in the server's log;
 *  - **client-side**: a request the client gave up on after `--timeout` seconds (default 60: the
 *    machine was too loaded to answer in time) and keep-alive races — the server closing an idle
 *    socket (after its 5 s keep-alive timeout) just as the client reuses it; Node documents these
 *    (`request.reusedSocket`) and clients retry them, as browsers do; so does the soak (up to three times);
 * p99 latencies per kind, searches still waiting (the load is open-loop: a backlog means the
 * server, or the machine, cannot keep up), the server's RSS (median of samples every 5 s), open
 * file descriptors and the load average. Targets (issue 13): zero errors, RSS growth ≤ 10 % from
 * the first to the last measured minute, fds flat. Exits non-zero on server errors or more growth.
 *
 * Warm-up (`--warmup W`, default 2): the same load runs W minutes before the N measured ones
 * (printed, marked "warm-up", their errors counted). The first minute is cold (mirrors, caches,
 * V8's heap and the allocator's arenas still growing, few requests served on a loaded machine), so
 * the growth figure compares the last minute with the first measured one, not with minute 1; the
 * growth from minute 1 is printed too. The JS heap and external memory are printed with RSS each
 * minute and as first → last measured: a leak in JS shows in the heap, one in buffers in external,
 * while RSS growing alone with flat heap and external is the allocator keeping pages.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
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
const dist = new URL('../server/dist/', import.meta.url);
const METRICS_TOKEN = 'soak-metrics-token-0123456789abcdef';

const SETTINGS = (dir: string): Record<string, string> => ({
  EARSHOT_DATA_DIR: dir,
  EARSHOT_PORT: '0',
  EARSHOT_LOG_LEVEL: 'info',
  EARSHOT_LOG_FORMAT: 'json',
  EARSHOT_SCAN_ON_START: 'false',
  EARSHOT_WATCH: 'false',
  EARSHOT_FULL_SCAN_INTERVAL_MINUTES: '0',
  EARSHOT_TRANSCODE_MAX: '30',
  EARSHOT_TRANSCODE_MAX_PER_USER: '30',
  EARSHOT_METRICS_TOKEN: METRICS_TOKEN,
});

/** Library, account, session and playlist, prepared in this process; the server then runs alone. */
async function prepare(dir: string): Promise<Omit<ServerInfo, 'base' | 'pid'>> {
  const { loadConfig } = (await import(
    new URL('config/load.js', dist).href
  )) as typeof import('../server/src/config/load.ts');
  const { createEarshot } = (await import(new URL('main.js', dist).href)) as typeof import('../server/src/main.ts');
  const { newId } = (await import(new URL('shared/ids.js', dist).href)) as typeof import('../server/src/shared/ids.ts');
  const { makeAudio } = await import('../server/src/test/audio.js');
  const { pino } = await import('pino');
  const { config } = loadConfig({
    env: { ...SETTINGS(dir), EARSHOT_LOG_LEVEL: 'error' },
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
  const earshot = await createEarshot(config, { background: false, logger: pino({ level: 'error' }) });
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
  await earshot.close();
  return { cookie: `earshot_session=${session.cookieValue}`, trackIds: tracks.map((t) => t.id), playlistId };
}

// ── the load ──
type Kind = 'direct' | 'transcode' | 'search' | 'write' | 'scan';

/** How a request ended: a status, or where the failure came from. */
interface Outcome {
  status: number;
  ms: number;
  /** Set when no status arrived: the error code, with `client timeout` or `keep-alive race` for client-side ones. */
  failure?: string;
  clientSide?: boolean;
  /** Keep-alive races retried (the retry's own outcome is the one reported). */
  retried: number;
}

function once(info: ServerInfo, agent: Agent, method: string, path: string, body: unknown, timeoutMs: number) {
  return new Promise<Omit<Outcome, 'retried'> & { race?: boolean }>((resolve) => {
    const start = performance.now();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { cookie: info.cookie };
    if (payload) headers['content-type'] = 'application/json';
    let answered = false;
    const req = request(`${info.base}${path}`, { agent, method, headers }, (res) => {
      answered = true;
      res.on('data', () => {});
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - start }));
      res.on('error', (err: NodeJS.ErrnoException) =>
        resolve({ status: 0, ms: performance.now() - start, failure: `cut mid-response (${err.code ?? err.message})` }),
      );
    });
    req.setTimeout(timeoutMs, () =>
      req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })),
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (answered) return;
      const ms = performance.now() - start;
      if (err.code === 'CLIENT_TIMEOUT')
        return resolve({ status: 0, ms, failure: `client timeout after ${timeoutMs / 1000} s`, clientSide: true });
      // The server closed an idle keep-alive socket as this request was put on it (Node's
      // documented race): nothing reached the application; clients retry.
      if (req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE'))
        return resolve({ status: 0, ms, failure: 'keep-alive race', clientSide: true, race: true });
      resolve({ status: 0, ms, failure: `connection error ${err.code ?? err.message}` });
    });
    req.end(payload);
  });
}

async function call(
  info: ServerInfo,
  agent: Agent,
  method: string,
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<Outcome> {
  // Several idle sockets can be closed at once (all idle for 5 s): a retry may meet another.
  let retried = 0;
  for (;;) {
    const outcome = await once(info, agent, method, path, body, timeoutMs);
    if (!outcome.race || retried === 3) return { ...outcome, retried };
    retried += 1;
  }
}

const p99 = (xs: number[]) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)];
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

function listEntries(info: ServerInfo, agent: Agent, path: string): Promise<string[]> {
  return new Promise((resolve) => {
    const req = request(`${info.base}${path}`, { agent, headers: { cookie: info.cookie } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => {
        try {
          resolve((JSON.parse(body) as { entries: { entryId: string }[] }).entries.map((e) => e.entryId));
        } catch {
          resolve([]);
        }
      });
      res.on('error', () => resolve([]));
    });
    req.on('error', () => resolve([]));
    req.end();
  });
}

/** The server's own memory figures from `/metrics` (prom-client): JS heap and external memory, in MB. */
function heapMb(info: ServerInfo, agent: Agent): Promise<{ heap: number; external: number }> {
  return new Promise((resolve) => {
    const nan = { heap: Number.NaN, external: Number.NaN };
    const headers = { authorization: `Bearer ${METRICS_TOKEN}` };
    const req = request(`${info.base}/metrics`, { agent, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => {
        const read = (name: string) =>
          Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1]) / 2 ** 20;
        resolve({
          heap: read('earshot_nodejs_heap_size_used_bytes'),
          external: read('earshot_nodejs_external_memory_bytes'),
        });
      });
      res.on('error', () => resolve(nan));
    });
    req.on('error', () => resolve(nan));
    req.end();
  });
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

async function main(): Promise<void> {
  const minutes = arg('minutes', 5);
  const warmup = arg('warmup', 2);
  const timeoutMs = arg('timeout', 60) * 1000;
  if (!existsSync(new URL('main.js', dist))) throw new Error('server/dist is missing: run `npm run build -w server`');
  const dir = mkdtempSync(join(tmpdir(), 'earshot-soak-'));
  const prepared = await prepare(dir);
  const serverLogErrors: string[] = [];
  // Through the launcher, as `npm start`, systemd and Termux start it: its memory settings
  // (MALLOC_ARENA_MAX=2, --max-semi-space-size=4, jemalloc when installed) are part of what is
  // measured. `exec` keeps the pid: it is the server's.
  const launcher = new URL('../scripts/earshot-serve.sh', import.meta.url).pathname;
  const child = spawn('sh', [launcher], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...SETTINGS(dir) },
  });
  const base = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry: { level?: number; msg?: string; address?: string; err?: { message?: string } };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.msg?.startsWith('Earshot is listening on') && entry.address) resolve(entry.address);
      if ((entry.level ?? 0) >= 50)
        serverLogErrors.push(`${entry.msg}${entry.err?.message ? `: ${entry.err.message}` : ''}`);
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  const info: ServerInfo = { ...prepared, base, pid: child.pid! };
  console.log(
    `soak: ${minutes} min against ${info.base} (${info.trackIds.length} tracks, server pid ${info.pid}, ` +
      `${warmup} min warm-up first, client timeout ${timeoutMs / 1000} s, load average ${loadavg()[0].toFixed(1)} on this machine)`,
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 200 });
  const end = Date.now() + (warmup + minutes) * 60_000;
  let lat: Record<Kind, number[]> = { direct: [], transcode: [], search: [], write: [], scan: [] };
  let serverErrors: string[] = [];
  let clientSide: string[] = [];
  let races = 0;
  const totals = { server: 0, client: 0, races: 0 };
  let logSeen = 0;
  const record = (kind: Kind, r: Outcome, what: string) => {
    lat[kind].push(r.ms);
    races += r.retried;
    totals.races += r.retried;
    if (r.failure && r.clientSide) {
      clientSide.push(`${what} → ${r.failure}`);
      totals.client += 1;
    } else if (r.failure || r.status >= 500 || r.status === 408 || (r.status >= 400 && r.status !== 409)) {
      // 409 = a scan already running: expected when the previous one is not done.
      serverErrors.push(`${what} → ${r.failure ?? r.status}`);
      totals.server += 1;
    }
  };
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];

  const listeners = Array.from({ length: 50 }, async (_, i) => {
    const transcode = i % 2 === 1;
    while (Date.now() < end) {
      const id = pick(info.trackIds);
      const path = transcode ? `/stream/${id}?format=opus&maxBitRate=96` : `/stream/${id}`;
      record(transcode ? 'transcode' : 'direct', await call(info, agent, 'GET', path, undefined, timeoutMs), path);
    }
  });
  let searchesWaiting = 0;
  // Sent, against the 3,000 a minute asked: a starved client (a loaded machine) sends fewer.
  let searchesSent = 0;
  const searches = setInterval(() => {
    const q = pick(WORDS).slice(0, 2 + Math.floor(Math.random() * 4));
    searchesWaiting += 1;
    searchesSent += 1;
    void call(info, agent, 'GET', `/api/v1/search/local?q=${encodeURIComponent(q)}`, undefined, timeoutMs).then((r) => {
      searchesWaiting -= 1;
      record('search', r, `search ${q}`);
    });
  }, 20);
  // Playlist writes: five additions per second, and removals (one at a time) that keep the
  // playlist near 100 entries: a playlist growing by 18,000 entries an hour would measure the
  // playlist, not the server.
  const writes = setInterval(() => {
    void call(
      info,
      agent,
      'POST',
      `/api/v1/playlists/${info.playlistId}/tracks`,
      { trackIds: [pick(info.trackIds)] },
      timeoutMs,
    ).then((r) => record('write', r, 'playlist add'));
  }, 200);
  const removals = (async () => {
    const path = `/api/v1/playlists/${info.playlistId}`;
    while (Date.now() < end) {
      const ids = await listEntries(info, agent, path);
      for (const entryId of ids.slice(0, Math.max(0, ids.length - 100))) {
        if (Date.now() >= end) break;
        record(
          'write',
          await call(info, agent, 'DELETE', `${path}/tracks/${entryId}`, undefined, timeoutMs),
          'playlist remove',
        );
      }
      // Pacing, not synchronisation: look again once a few more entries were added.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  })();
  const scans = setInterval(() => {
    void call(info, agent, 'POST', '/api/v1/scan', { full: true }, timeoutMs).then((r) => record('scan', r, 'rescan'));
  }, 60_000);
  let samples: number[] = [];
  const sampler = setInterval(() => samples.push(rssMb(info.pid)), 5_000);
  const rss: number[] = [];
  const fds: number[] = [];
  const heap: number[] = [];
  const external: number[] = [];
  let minute = 0;
  const printMinute = async () => {
    // Everything of this minute is taken at once; only the server's heap figures are awaited.
    minute += 1;
    const m = { minute, lat, serverErrors, clientSide, races, waiting: searchesWaiting, sent: searchesSent };
    searchesSent = 0;
    lat = { direct: [], transcode: [], search: [], write: [], scan: [] };
    serverErrors = [];
    clientSide = [];
    races = 0;
    samples.push(rssMb(info.pid));
    rss.push(median(samples));
    samples = [];
    fds.push(readdirSync(`/proc/${info.pid}/fd`).length);
    const logErrors = serverLogErrors.slice(logSeen);
    logSeen = serverLogErrors.length;
    totals.server += logErrors.length;
    const [r, fd] = [rss.at(-1), fds.at(-1)];
    const mem = await heapMb(info, agent);
    heap.push(mem.heap);
    external.push(mem.external);
    const f = (xs: number[]) => `${p99(xs).toFixed(1)} ms (${xs.length})`;
    console.log(
      `min ${m.minute}${m.minute <= warmup ? ' (warm-up)' : ''}: server errors ${m.serverErrors.length + logErrors.length}, client-side ${m.clientSide.length} ` +
        `(+${m.races} keep-alive races retried) | p99 direct ${f(m.lat.direct)}, transcode ${f(m.lat.transcode)}, ` +
        `search ${f(m.lat.search)}, write ${f(m.lat.write)} | searches sent ${m.sent}, waiting ${m.waiting} | RSS ${r?.toFixed(1)} MB ` +
        `(heap ${mem.heap.toFixed(1)}, external ${mem.external.toFixed(1)}) | fds ${fd} | load ${loadavg()[0].toFixed(1)}`,
    );
    if (m.serverErrors.length > 0) console.log(`  server: ${m.serverErrors.slice(0, 5).join('; ')}`);
    if (logErrors.length > 0) console.log(`  server log: ${logErrors.slice(0, 5).join('; ')}`);
    if (m.clientSide.length > 0) console.log(`  client-side: ${m.clientSide.slice(0, 5).join('; ')}`);
  };
  const report = setInterval(() => void printMinute(), 60_000);
  await Promise.all(listeners);
  await removals;
  clearInterval(searches);
  clearInterval(writes);
  clearInterval(scans);
  clearInterval(report);
  clearInterval(sampler);
  // The seconds after the last full minute (requests finishing) are not a minute of load: their
  // failures are in the totals and listed here, their RSS is not compared.
  for (const e of [...serverErrors, ...serverLogErrors.slice(logSeen)])
    console.log(`  after the last minute, server: ${e}`);
  totals.server += serverLogErrors.length - logSeen;
  for (const e of clientSide) console.log(`  after the last minute, client-side: ${e}`);
  // Growth over the measured minutes (after the warm-up); from minute 1 too, for comparison.
  const pct = (from: number | undefined, to: number | undefined) =>
    from !== undefined && to !== undefined && from > 0 ? ((to - from) / from) * 100 : 0;
  const measured = rss.slice(warmup);
  const growth = measured.length > 1 ? pct(measured[0], measured.at(-1)) : 0;
  const fromCold = pct(rss[0], rss.at(-1));
  // Warm-up (caches filling, V8 sizing its heap) against a leak: a leak keeps growing in the second half.
  const half = measured[Math.floor((measured.length - 1) / 2)];
  const secondHalf = measured.length > 2 ? pct(half, measured.at(-1)) : 0;
  const trend = (xs: number[]) => {
    const ys = xs.slice(warmup);
    return `${ys[0]?.toFixed(1)} → ${ys.at(-1)?.toFixed(1)} MB (${pct(ys[0], ys.at(-1)).toFixed(1)} %)`;
  };
  console.log(
    `soak done: ${totals.server} server errors, ${totals.client} client-side failures, ${totals.races} keep-alive ` +
      `races retried; measured minutes ${warmup + 1}–${rss.length}: RSS ${trend(rss)}, ${secondHalf.toFixed(1)} % over their ` +
      `second half, JS heap ${trend(heap)}, external ${trend(external)}; from cold minute 1: RSS ${rss[0]?.toFixed(1)} → ` +
      `${rss.at(-1)?.toFixed(1)} MB (${fromCold.toFixed(1)} %), max ${Math.max(...rss).toFixed(1)}; fds ${fds[0]} → ${fds.at(-1)}`,
  );
  agent.destroy();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
  process.exitCode = totals.server === 0 && growth <= 10 ? 0 : 1;
}

void main();
