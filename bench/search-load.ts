/**
 * Search load for the benchmarks (scan.bench.ts, search.bench.ts): lean keep-alive clients on
 * their own thread, queries as people type them, a warm-up, and the launcher's memory settings.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

/**
 * Settings of a benchmark's server: the defaults users run (watcher on, scan on start, metrics,
 * the daily full scan, info logs as JSON on stdout) except where it must differ — its own data
 * and music folders, a free port. `differingSettings` prints what differs.
 */
export const benchServerEnv = (dataDir: string, musicDir: string): Record<string, string> => ({
  EARSHOT_DATA_DIR: dataDir,
  EARSHOT_MUSIC_DIR: musicDir,
  EARSHOT_PORT: '0',
  ...extraSettings(),
});

/** The server's own log lines (JSON) are not the bench's output: everything else is. */
export const isLogLine = (line: string) => line.startsWith('{"level":');

/**
 * `EARSHOT_*` variables of the bench's own environment pass through to the measured server (to
 * measure a non-default setting on purpose, e.g. `EARSHOT_WATCH=false npm run bench:scan`).
 */
function extraSettings(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('EARSHOT_') && v !== undefined && k !== 'EARSHOT_PRELOADED') out[k] = v;
  }
  return out;
}

/** The settings of a loaded config that are not the defaults, as `ENV=value` (config/load.ts). */
export function differingSettings(rows: { env: string; value: string; source: string }[]): string {
  return rows
    .filter((r) => r.source !== 'default' && r.value !== '(not set)')
    .map((r) => `${r.env}=${r.value}`)
    .join(' ');
}

export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/**
 * The memory settings the server runs with (`npm start`, systemd, Termux all start it through
 * scripts/earshot-serve.sh): its `--env` lines, for the measured process.
 */
export function launcherSettings(): Record<string, string> {
  const script = fileURLToPath(new URL('../scripts/earshot-serve.sh', import.meta.url));
  const out = execFileSync('sh', [script, '--env'], { encoding: 'utf8' });
  return Object.fromEntries(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/**
 * N keep-alive HTTP/1.1 clients working through the query list; posts every request's latency
 * (ms, in completion order). A lean client (a socket, a request line, Content-Length framing)
 * rather than node:http: the load generator shares the two cores with the server, and
 * node:http's client costs about as much CPU per request as the server itself — the figure would
 * measure the client. (The same reason wrk and autocannon exist.)
 *
 * It allocates nothing per answer: each client reads into its own buffer (net's `onread`) and
 * finds the head's end and Content-Length in the bytes. The client before this one turned every
 * first chunk of an answer (~15 KB) into a string and got a new Buffer per read: ~120 µs of CPU
 * per request on the cores the server needs, and garbage collections of this thread of up to
 * 7 ms, which pause in the middle of the latencies it measures (bench/README.md, "The load
 * generator's own pauses"). `wrkMix` below cross-checks it with wrk.
 */
const SEARCH_CLIENTS_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const net = require('node:net');
const { url, cookie, clients, paths, failedMarks } = workerData;
const { hostname, port } = new URL(url);
// Every request's bytes, made before the clock starts (the generator's CPU is not the server's).
const requests = paths.map((p) => Buffer.from('GET ' + p + ' HTTP/1.1\\r\\nhost: ' + hostname + (cookie ? '\\r\\ncookie: ' + cookie : '') + '\\r\\n\\r\\n', 'latin1'));
const latencies = new Float64Array(paths.length);
let done = 0;
let next = 0;
// Protocols that answer errors with HTTP 200 (Subsonic): a body with one of these marks fails the run.
const marks = (failedMarks || []).map((m) => Buffer.from(m, 'latin1'));
const CONTENT_LENGTH = Buffer.from('\\r\\ncontent-length:', 'latin1');
// Reads land in one buffer per client, reused (net's onread): a response allocates nothing here,
// so this thread's own garbage collections do not pause in the middle of the latencies it measures.
const client = () => new Promise((resolve, reject) => {
  const readBuffer = Buffer.allocUnsafe(256 * 1024);
  const head = Buffer.allocUnsafe(16 * 1024);
  let headLength = 0;
  let body = -1; // bytes of body still expected; -1 while reading the head, -2 when finished
  let bodyParts = [];
  let started = 0;
  let at = -1;
  let socket = null;
  const fail = (why) => { body = -2; socket.destroy(); reject(new Error('request ' + paths[at] + ': ' + why)); };
  // The head's end (CRLF CRLF) and its content-length, read from the bytes.
  const parseHead = () => {
    let end = -1;
    for (let i = 3; i < headLength; i++) {
      if (head[i] === 10 && head[i - 1] === 13 && head[i - 2] === 10 && head[i - 3] === 13) { end = i + 1; break; }
    }
    if (end < 0) return -1;
    if (head[9] !== 50 || head[10] !== 48 || head[11] !== 48) {
      fail('HTTP ' + head.toString('latin1', 9, 12));
      return -1;
    }
    let length = -1;
    outer: for (let i = 0; i + CONTENT_LENGTH.length <= end; i++) {
      for (let j = 0; j < CONTENT_LENGTH.length; j++) {
        const c = head[i + j];
        if ((c >= 65 && c <= 90 ? c + 32 : c) !== CONTENT_LENGTH[j]) continue outer;
      }
      length = 0;
      for (let k = i + CONTENT_LENGTH.length; k < end; k++) {
        const c = head[k];
        if (c === 32) continue;
        if (c < 48 || c > 57) break;
        length = length * 10 + (c - 48);
      }
      break;
    }
    if (length < 0) {
      fail('no content-length');
      return -1;
    }
    body = length;
    return end;
  };
  const onBody = (buf, from, to) => {
    body -= to - from;
    if (marks.length) bodyParts.push(Buffer.from(buf.subarray(from, to)));
    if (body === 0) {
      latencies[done++] = performance.now() - started;
      if (marks.length) {
        const all = Buffer.concat(bodyParts);
        bodyParts = [];
        for (const m of marks) if (all.includes(m)) return fail(all.toString('utf8', 0, 300));
      }
      nextQuery();
    }
  };
  const onRead = (nread, buf) => {
    if (body === -2) return;
    let from = 0;
    if (body === -1) {
      const room = head.length - headLength;
      const take = Math.min(room, nread);
      buf.copy(head, headLength, 0, take);
      const before = headLength;
      headLength += take;
      const end = parseHead();
      if (body === -2) return;
      if (end < 0) {
        if (headLength === head.length) fail('response head over ' + head.length + ' bytes');
        return;
      }
      from = end - before;
    }
    if (from < nread) onBody(buf, from, nread);
    else if (body === 0) onBody(buf, from, from);
  };
  const connect = () => {
    socket = net.connect({ port: Number(port), host: hostname, onread: { buffer: readBuffer, callback: onRead } });
    socket.setNoDelay(true);
    socket.on('error', reject);
    socket.on('close', () => { if (body !== -2) connect(), send(); });
  };
  const send = () => {
    headLength = 0;
    body = -1;
    started = performance.now();
    socket.write(requests[at]);
  };
  const nextQuery = () => {
    if (next >= requests.length) { body = -2; socket.end(); resolve(); return; }
    at = next++;
    send();
  };
  connect();
  nextQuery();
});
Promise.all(Array.from({ length: clients }, client)).then(
  () => parentPort.postMessage(Array.from(latencies.subarray(0, done))),
  (err) => { throw err; },
);
`;

/**
 * Runs the clients over `paths` (path and query string, e.g. `/rest/search3?…`) against the
 * server at `url`; every request's latency (ms), in completion order. `failedMarks`: byte strings
 * that make a 200 answer a failure (Subsonic answers errors with HTTP 200).
 */
export function requestsWith(options: {
  url: string;
  cookie?: string;
  clients: number;
  paths: string[];
  failedMarks?: string[];
}) {
  return new Promise<number[]>((resolve, reject) => {
    const worker = new Worker(SEARCH_CLIENTS_SOURCE, { eval: true, workerData: options });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/** The request path of a search for `q` at `pathname` (the REST search: 20 of each section). */
const searchPath = (pathname: string, q: string) => `${pathname}?q=${encodeURIComponent(q)}&limit=20`;

/** Runs the clients over `queries` against `url` (`?q=…&limit=20`); every request's latency (ms). */
export function searchWith(options: { url: string; cookie: string; clients: number; queries: string[] }) {
  const { pathname } = new URL(options.url);
  return requestsWith({
    url: options.url,
    cookie: options.cookie,
    clients: options.clients,
    paths: options.queries.map((q) => searchPath(pathname, q)),
  });
}

/**
 * Queries as people type them — whole words, half-typed words, whole titles / names — from 2,000
 * tracks of the library (`offset` picks which 2,000).
 */
export function queriesFrom(sqlite: SQLite.Database, offset: number, count: number): string[] {
  const rows = sqlite
    .prepare('select title, artist, album from tracks order by rowid limit 2000 offset ?')
    .all(offset) as { title: string; artist: string | null; album: string | null }[];
  if (rows.length === 0) throw new Error(`no tracks from row ${offset}: scan a library first`);
  const queries: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = rows[(i * 7919) % rows.length];
    const source = [r.title, r.artist ?? r.title, r.album ?? r.title][i % 3];
    const word = source.split(/\s+/)[0] ?? source;
    queries.push(i % 4 === 0 ? word.slice(0, Math.max(2, Math.ceil(word.length / 2))) : i % 4 === 1 ? source : word);
  }
  return queries;
}

/** What measureSearch needs of a started server (main.ts `createEarshot`). */
interface Server {
  database: { sqlite?: SQLite.Database };
  sessions: { create(userId: string, meta: { userAgent: string }): Promise<{ cookieValue: string }> };
  app: { listen(options: { host: string; port: number }): Promise<string> };
  catalog: {
    search: { mirrorsWarm: boolean; dropAnswers(): void; answeredInMemory: number; readerAnswered: number };
  };
}

/** Where the cache misses of a measured phase were ranked (the rest: inline on the main connection). */
export interface MissPaths {
  mirrors: number;
  reader: number;
}

/** The measured phase: every request's latency, and the throughput and CPU of the whole process. */
export interface SearchFigures {
  latencies: number[];
  warmup: number[];
  /** Milliseconds the server took after the warm-up to build its in-memory search mirrors. */
  warmWaitMs: number;
  requestsPerSecond: number;
  /** Process CPU (server threads and the load generator) per measured request, µs. */
  cpuPerRequestUs: number;
  /** The main thread's garbage-collection pauses during the measured phase, ms. */
  gcPauses: number[];
  /** Cache misses answered by the in-memory mirrors and by the reader thread while measuring. */
  misses: MissPaths;
  /** The same measure over the unseen mix (queries from another seed), after an emptied cache. */
  unseen: {
    latencies: number[];
    requestsPerSecond: number;
    cpuPerRequestUs: number;
    gcPauses: number[];
    misses: MissPaths;
  } | null;
  /** Another unseen mix (`wrkUnseen`, another seed) through wrk after an emptied cache (`--wrk`). */
  wrk: (WrkFigures & { serverCpuPerRequestUs: number; misses: MissPaths }) | null;
}

/**
 * Signs a bench user in, listens on loopback, warms up (other queries, from the other half of the
 * library), waits until the in-memory search mirrors are built (a running server's steady state;
 * at most 60 s), runs the warm-up queries again through them (uncached), empties the result
 * cache, then measures `queries` queries from the first 2,000 tracks with `clients` concurrent
 * clients.
 */
export async function measureSearch(
  earshot: Server,
  options: {
    clients: number;
    queries: number;
    warmup: number;
    sessionCookie: string;
    unseen?: string[];
    /**
     * A last phase through wrk: its queries (more than wrk asks in `seconds`, so none repeats) and
     * what runs wrk — another process (search.bench.ts's parent), never this one: a process that
     * forks while it serves write-protects all its pages, and the page faults that follow slow it
     * for tens of milliseconds (measured: p99 16–24 ms with a fork just before, 5.6–9.9 without).
     */
    wrkUnseen?: { queries: string[]; seconds: number; run: (request: WrkRequest) => Promise<WrkFigures> };
  },
): Promise<SearchFigures> {
  const { sqlite } = earshot.database;
  if (!sqlite) throw new Error('the search bench reads an SQLite database');
  const userId = 'benchuser000000000001';
  const now = Date.now();
  sqlite
    .prepare(
      `insert or ignore into users (id, username, username_key, role, created_at, updated_at)
       values (?, 'bench', 'bench', 'user', ?, ?)`,
    )
    .run(userId, now, now);
  const session = await earshot.sessions.create(userId, { userAgent: 'bench' });
  const address = await earshot.app.listen({ host: '127.0.0.1', port: 0 });
  const load = (queries: string[]) =>
    searchWith({
      url: `${address}/api/v1/search/local`,
      cookie: `${options.sessionCookie}=${session.cookieValue}`,
      clients: options.clients,
      queries,
    });
  const { n } = sqlite.prepare('select count(*) n from tracks').get() as { n: number };
  const warmup = options.warmup > 0 ? await load(queriesFrom(sqlite, Math.floor(n / 2), options.warmup)) : [];
  const waitFrom = performance.now();
  while (!earshot.catalog.search.mirrorsWarm && performance.now() - waitFrom < 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const warmWaitMs = performance.now() - waitFrom;
  // The same warm-up again, now through the mirrors (their code gets compiled), then a cold cache.
  if (options.warmup > 0) {
    earshot.catalog.search.dropAnswers();
    await load(queriesFrom(sqlite, Math.floor(n / 2), options.warmup));
  }
  const measured = async (queries: string[]) => {
    earshot.catalog.search.dropAnswers();
    const gcPauses: number[] = [];
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcPauses.push(e.duration);
    });
    gc.observe({ entryTypes: ['gc'] });
    const { search } = earshot.catalog;
    const mirrors0 = search.answeredInMemory;
    const reader0 = search.readerAnswered;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const latencies = await load(queries);
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    gc.disconnect();
    return {
      latencies,
      misses: { mirrors: search.answeredInMemory - mirrors0, reader: search.readerAnswered - reader0 },
      requestsPerSecond: (latencies.length / wall) * 1000,
      cpuPerRequestUs: (cpu.user + cpu.system) / latencies.length,
      gcPauses,
    };
  };
  const library = await measured(queriesFrom(sqlite, 0, options.queries));
  const unseen = options.unseen?.length ? await measured(options.unseen) : null;
  let wrk: SearchFigures['wrk'] = null;
  if (options.wrkUnseen) {
    earshot.catalog.search.dropAnswers();
    const { search } = earshot.catalog;
    const mirrors0 = search.answeredInMemory;
    const reader0 = search.readerAnswered;
    const { pathname } = new URL(`${address}/api/v1/search/local`);
    const cpu0 = process.cpuUsage();
    const figures = await options.wrkUnseen.run({
      url: address,
      cookie: `${options.sessionCookie}=${session.cookieValue}`,
      clients: options.clients,
      paths: options.wrkUnseen.queries.map((q) => searchPath(pathname, q)),
      seconds: options.wrkUnseen.seconds,
    });
    const cpu = process.cpuUsage(cpu0);
    wrk = {
      ...figures,
      serverCpuPerRequestUs: (cpu.user + cpu.system) / figures.requests,
      misses: { mirrors: search.answeredInMemory - mirrors0, reader: search.readerAnswered - reader0 },
    };
  }
  return { ...library, warmup, warmWaitMs, unseen, wrk };
}

/** One line for a measured mix: p50 / p90 / p99 / max, throughput, CPU per request. */
export function describeMix(m: {
  latencies: number[];
  requestsPerSecond: number;
  cpuPerRequestUs: number;
  misses?: MissPaths;
}): string {
  const f = (p: number) => percentile(m.latencies, p).toFixed(1);
  const misses = m.misses
    ? `, misses ranked: ${m.misses.mirrors} in memory, ${m.misses.reader} on the reader thread`
    : '';
  return (
    `p50 ${f(50)} / p90 ${f(90)} / p99 ${f(99)} ms, max ${Math.max(...m.latencies).toFixed(0)} ms ` +
    `(${m.latencies.length} queries, ${m.requestsPerSecond.toFixed(0)} req/s, ${m.cpuPerRequestUs.toFixed(0)} µs CPU each${misses})`
  );
}

/** What wrk measured over one mix (latencies in ms). */
export interface WrkFigures {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  requests: number;
  requestsPerSecond: number;
  /** Errors wrk counted (connect, read, write, timeout) and answers other than 2xx/3xx. */
  errors: number;
}

/** What wrk is asked to run (`wrkMix`). */
export interface WrkRequest {
  url: string;
  cookie?: string;
  clients: number;
  paths: string[];
  seconds: number;
}

/** wrk's path when installed (`apt-get install wrk`), else null. */
export function wrkPath(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = `${dir}/wrk`;
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

/**
 * `paths` (path and query string) against `url` through wrk, an HTTP load generator in C, with
 * `clients` keep-alive connections on one wrk thread for `seconds` seconds: the paths in order,
 * from the first again when all were asked. A cross-check of the Node.js clients above: wrk runs
 * in its own process, allocates nothing per request and has no garbage collector, so its latencies
 * hold none of the load generator's own pauses.
 */
export async function wrkMix(o: WrkRequest): Promise<WrkFigures> {
  const wrk = wrkPath();
  if (!wrk) throw new Error('wrk is not installed (apt-get install wrk)');
  const dir = mkdtempSync(join(tmpdir(), 'earshot-wrk-'));
  try {
    const pathsFile = join(dir, 'paths.txt');
    writeFileSync(pathsFile, `${o.paths.join('\n')}\n`);
    const script = join(dir, 'mix.lua');
    writeFileSync(
      script,
      `local paths = {}
local at = 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end
request = function()
  at = at + 1
  if at > #paths then at = 1 end
  return wrk.format("GET", paths[at])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests":%d,"us":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout + e.status))
end
`,
    );
    const args = ['-t', '1', '-c', String(o.clients), '-d', `${o.seconds}s`, '--timeout', '10s', '-s', script];
    if (o.cookie) args.push('-H', `cookie: ${o.cookie}`);
    args.push(o.url, '--', pathsFile);
    const out = await new Promise<string>((resolve, reject) => {
      execFile(wrk, args, { encoding: 'utf8' }, (err, stdout, stderr) =>
        err ? reject(new Error(`wrk failed: ${stderr || err.message}`)) : resolve(stdout),
      );
    });
    const line = out.split('\n').find((l) => l.startsWith('WRK '));
    if (!line) throw new Error(`wrk printed no figures:\n${out}`);
    const f = JSON.parse(line.slice(4)) as Record<string, number>;
    return {
      p50: f.p50 / 1000,
      p90: f.p90 / 1000,
      p99: f.p99 / 1000,
      max: f.max / 1000,
      requests: f.requests,
      requestsPerSecond: f.requests / (f.us / 1e6),
      errors: f.errors,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
