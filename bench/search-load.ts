/**
 * Search load for the benchmarks (scan.bench.ts, search.bench.ts): lean keep-alive clients on
 * their own thread, queries as people type them, a warm-up, and the launcher's memory settings.
 */
import { execFileSync } from 'node:child_process';
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
 * N keep-alive HTTP/1.1 clients working through the query list; posts every request's latency (ms).
 * A lean client (a socket, a request line, Content-Length framing) rather than node:http: the
 * load generator shares the two cores with the server, and node:http's client costs about as much
 * CPU per request as the server itself — the figure would measure the client. (The same reason
 * wrk and autocannon exist.)
 */
const SEARCH_CLIENTS_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const net = require('node:net');
const { url, cookie, clients, paths, failedMarks } = workerData;
const { hostname, port } = new URL(url);
const queries = paths;
const latencies = [];
let next = 0;
// Every request's bytes, made before the clock starts (the generator's CPU is not the server's).
const requests = paths.map((p) => Buffer.from('GET ' + p + ' HTTP/1.1\\r\\nhost: ' + hostname + (cookie ? '\\r\\ncookie: ' + cookie : '') + '\\r\\n\\r\\n', 'latin1'));
// Protocols that answer errors with HTTP 200 (Subsonic): a body with one of these marks fails the run.
const marks = (failedMarks || []).map((m) => Buffer.from(m, 'latin1'));
const client = () => new Promise((resolve, reject) => {
  let bodyParts = [];
  let socket = null;
  let head = '';
  let body = -1; // bytes of body still expected; -1 while reading the head
  let started = 0;
  let q = '';
  const connect = () => {
    socket = net.connect(Number(port), hostname);
    socket.setNoDelay(true);
    socket.on('data', onData);
    socket.on('error', reject);
    socket.on('close', () => { if (body !== -2) connect(), send(); });
  };
  let request = null;
  const send = () => {
    head = '';
    body = -1;
    started = performance.now();
    socket.write(request);
  };
  const nextQuery = () => {
    if (next >= queries.length) { body = -2; socket.end(); resolve(); return; }
    q = queries[next];
    request = requests[next++];
    send();
  };
  function onData(chunk) {
    let rest = chunk;
    if (body === -1) {
      head += chunk.toString('latin1');
      const end = head.indexOf('\\r\\n\\r\\n');
      if (end < 0) return;
      const status = head.slice(9, 12);
      if (status !== '200') return reject(new Error('search ' + q + ': HTTP ' + status));
      const m = /\\r\\ncontent-length: *(\\d+)/i.exec(head.slice(0, end));
      if (!m) return reject(new Error('search ' + q + ': no content-length'));
      body = Number(m[1]);
      rest = chunk.subarray(chunk.length - (head.length - end - 4));
    }
    body -= rest.length;
    if (marks.length) bodyParts.push(rest);
    if (body === 0) {
      latencies.push(performance.now() - started);
      if (marks.length) {
        const all = Buffer.concat(bodyParts);
        bodyParts = [];
        for (const m of marks) if (all.includes(m)) return reject(new Error(q + ': ' + all.toString('utf8', 0, 300)));
      }
      nextQuery();
    }
  }
  connect();
  nextQuery();
});
Promise.all(Array.from({ length: clients }, client)).then(() => parentPort.postMessage(latencies), (err) => { throw err; });
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

/** Runs the clients over `queries` against `url` (`?q=…&limit=20`); every request's latency (ms). */
export function searchWith(options: { url: string; cookie: string; clients: number; queries: string[] }) {
  const { pathname } = new URL(options.url);
  return requestsWith({
    url: options.url,
    cookie: options.cookie,
    clients: options.clients,
    paths: options.queries.map((q) => `${pathname}?q=${encodeURIComponent(q)}&limit=20`),
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
  options: { clients: number; queries: number; warmup: number; sessionCookie: string; unseen?: string[] },
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
  return { ...library, warmup, warmWaitMs, unseen };
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
