/**
 * Search-only benchmark on a database a scan already made: the search half of scan.bench.ts
 * without the 30-second scan before it, for comparing search changes quickly.
 *
 *   npm run bench:search -- --db FILE --lib DIR [--rounds 3] [--clients 16] [--queries 3000] [--warmup 600] [--wrk] [--dist DIR …]
 *
 * FILE is an Earshot database (`<data>/db/earshot.db` after a scan, e.g. of the bench library:
 * `npx earshot scan` with EARSHOT_MUSIC_DIR=/tmp/earshot-bench-50k), DIR the music folder it was
 * made from. The database is copied; the copy is migrated and served by the compiled server
 * (server/dist) with its DEFAULT settings (watcher on DIR, scan on start — a no-change scan here —
 * background work; the settings that differ are printed) and the launcher's memory settings
 * (scripts/earshot-serve.sh), in a child process. Each round waits for the scan on start, runs
 * the warm-up and the measured queries of scan.bench.ts (search-load.ts) on a fresh server — the
 * library mix, then the unseen mix (titles from another seed) — and prints p50 / p90 / p99 / max,
 * the process's CPU use and the main thread's GC pauses; then the same clients on the Subsonic
 * API (`getAlbumList2` of every catalog-wide list type and `search3` of typed queries, f=json and
 * f=xml, each format with its own queries so both meet unseen ones, subsonic-load.ts). This
 * process also holds tsx (more memory than production, same search code).
 *
 * `--wrk` adds a last phase to each round: another unseen mix (another seed) for one second through
 * wrk (`apt-get install wrk`; skipped with a note when missing), a load generator in C, run by this
 * process — never by the measured one, whose fork would slow it (search-load.ts `wrkMix`) — as a
 * cross-check of the Node.js clients; its line gives the server's CPU per request without the
 * load generator's, and the summary its median p99.
 *
 * Several `--dist` builds (copies of server/dist inside the repository; a relative path is taken
 * from the repository root, or from bench/ as before) are run alternated, round by round: round 1
 * of each, then round 2 of each …, so each build meets the same load. The summary gives each
 * build's median p99 of the library and unseen mixes, req/s and CPU per request, and the ratio
 * to the last build named (the baseline).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Earshot, flags, sqliteOf, startBenchServer } from './bench-server.ts';
import { unseenQueries } from './genlib.ts';
import {
  describeMix,
  differingSettings,
  isLogLine,
  launcherSettings,
  measureSearch,
  percentile,
  queriesFrom,
  type WrkFigures,
  type WrkRequest,
  wrkMix,
  wrkPath,
} from './search-load.ts';
import { measureSubsonic, subsonicMixes, unseenAfterWarmup } from './subsonic-load.ts';

const argv = process.argv.slice(2);
const { get, has } = flags(argv);
const args = {
  db: get('db'),
  lib: get('lib'),
  rounds: Number(get('rounds') ?? 1),
  clients: Number(get('clients') ?? 16),
  queries: Number(get('queries') ?? 3000),
  warmup: Number(get('warmup') ?? 600),
  /** Another build (a copy of an older server/dist inside the repository: before/after in one session). */
  dist: get('dist'),
  /** A last unseen mix through wrk (another load generator, in C, in its own process) as a cross-check. */
  wrk: has('wrk'),
};

/**
 * Runs wrk in the bench's parent process and waits for its figures (a round's child asks over
 * IPC). The measured server's process must not fork: a fork write-protects every page of its
 * large heap, and the page faults after it slowed the server for tens of milliseconds (p99 16–24
 * ms with a fork just before the run against 5.6–9.9 without, same server, same session).
 */
function wrkInParent(request: WrkRequest): Promise<WrkFigures> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { figures?: WrkFigures; error?: string }) => {
      process.off('message', onMessage);
      if (m.figures) resolve(m.figures);
      else reject(new Error(m.error ?? 'wrk gave no figures'));
    };
    process.on('message', onMessage);
    if (!process.send) throw new Error('--wrk runs in a round child with an IPC channel');
    process.send({ wrk: request });
  });
}

async function round(n: number): Promise<void> {
  const server = await startBenchServer({
    db: args.db as string,
    lib: args.lib as string,
    source: { dist: args.dist },
  });
  const { earshot } = server;
  try {
    if (n === 1) console.log(`settings that differ from the defaults: ${differingSettings(server.described)}`);
    let gcMs = 0;
    let gcs = 0;
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        gcMs += e.duration;
        gcs++;
      }
    });
    gc.observe({ entryTypes: ['gc'] });
    const figures = await measureSearch(earshot, {
      ...args,
      sessionCookie: server.modules.SESSION_COOKIE,
      unseen: unseenQueries(args.queries, 7),
      // Enough queries that none repeats within wrk's second (5,000–9,000 requests/s here).
      wrkUnseen: args.wrk ? { queries: unseenQueries(15_000, 11), seconds: 1, run: wrkInParent } : undefined,
    });
    gc.disconnect();
    // The Subsonic side of search and browsing (issue 20): getAlbumList2 and search3, JSON and XML.
    const subsonic = await measureSubsonicOn(earshot, args);
    const { latencies, warmup } = figures;
    const f = (p: number) => percentile(latencies, p).toFixed(1);
    const w = (p: number) => (warmup.length ? percentile(warmup, p).toFixed(1) : '–');
    // p99 of each tenth of a run: where in the run the slow answers were.
    const byTenth = (xs: number[]) => {
      const tenths: string[] = [];
      const size = Math.ceil(xs.length / 10);
      for (let i = 0; i < xs.length; i += size) tenths.push(percentile(xs.slice(i, i + size), 99).toFixed(0));
      return tenths.join(' ');
    };
    console.log(
      `round ${n}: p50 ${f(50)} / p90 ${f(90)} / p99 ${f(99)} ms, max ${Math.max(...latencies).toFixed(0)} ms ` +
        `(${args.clients} clients, ${latencies.length} queries, ${figures.requestsPerSecond.toFixed(0)} req/s, ` +
        `${figures.cpuPerRequestUs.toFixed(0)} µs CPU each, misses ranked: ${figures.misses.mirrors} in memory, ` +
        `${figures.misses.reader} on the reader thread); p99 by tenth ${byTenth(latencies)}; ` +
        `warm-up p50 ${w(50)} / p99 ${w(99)} ms, then ${(figures.warmWaitMs / 1000).toFixed(1)} s until the search ` +
        `mirrors were built; main-thread GC ${gcs} pauses, ${gcMs.toFixed(0)} ms in all, ${figures.gcPauses.length} while ` +
        `measuring (longest ${Math.max(0, ...figures.gcPauses).toFixed(1)} ms)` +
        (figures.unseen
          ? `; unseen mix: ${describeMix(figures.unseen)}, longest GC pause ${Math.max(0, ...figures.unseen.gcPauses).toFixed(1)} ms, p99 by tenth ${byTenth(figures.unseen.latencies)}`
          : ''),
    );
    if (figures.wrk) {
      const k = figures.wrk;
      console.log(
        `round ${n}: unseen mix through wrk: p50 ${k.p50.toFixed(1)} / p90 ${k.p90.toFixed(1)} / p99 ${k.p99.toFixed(1)} ms, ` +
          `max ${k.max.toFixed(0)} ms (${k.requests} queries in 1 s, ${k.requestsPerSecond.toFixed(0)} req/s, ` +
          `${k.serverCpuPerRequestUs.toFixed(0)} µs of the server's CPU each, wrk's own not included, ${k.errors} errors, ` +
          `misses ranked: ${k.misses.mirrors} in memory, ${k.misses.reader} on the reader thread)`,
      );
    }
    for (const line of subsonic) console.log(`round ${n}: ${line}`);
  } finally {
    await server.close();
  }
}

/**
 * getAlbumList2 (every catalog-wide list type, 50 a page) and search3 (queries typed from the
 * library) with the same clients, as the bench user with an API key, after the local search.
 */
async function measureSubsonicOn(
  earshot: Earshot,
  o: { clients: number; queries: number; warmup: number },
): Promise<string[]> {
  const sqlite = sqliteOf(earshot);
  const userId = sqlite.prepare("select id from users where username = 'bench'").pluck().get() as string;
  const { key } = await earshot.accounts.subsonic.createApiKey(userId, 'bench');
  const albums = Number(sqlite.prepare('select count(*) from albums').pluck().get());
  const genre =
    (sqlite.prepare('select name from genres order by album_count desc limit 1').pluck().get() as string | undefined) ??
    'Rock';
  const address = earshot.app.server.address();
  if (!address || typeof address === 'string') throw new Error('the server is not listening');
  // Each format its own queries (tracks 0–1,999 for JSON, 2,000–3,999 for XML, made alike): with one
  // list, the JSON run met every query nobody had asked yet and the XML run after it found them all
  // answered, kept and rendered — the cold path was measured in JSON only. Now both runs meet their
  // own unseen queries after the same warm-up; the counts are printed.
  const queriesByFormat = { json: queriesFrom(sqlite, 0, 600), xml: queriesFrom(sqlite, 2000, 600) };
  const warmup = Math.min(o.warmup, 300);
  const lines = [
    `subsonic search3 queries nobody asked before the measured run: ${Object.entries(queriesByFormat)
      .map(([f, q]) => `f=${f} ${unseenAfterWarmup(q, o.queries, warmup)} of ${new Set(q).size} distinct`)
      .join(', ')}`,
  ];
  await measureSubsonic(
    `http://127.0.0.1:${address.port}`,
    subsonicMixes({ apiKey: key, requests: o.queries, albums, genre, queries: queriesByFormat.json, queriesByFormat }),
    { clients: o.clients, warmup, log: (line) => lines.push(`subsonic ${line}`) },
  );
  return lines;
}

async function main(): Promise<void> {
  if (!args.db || !existsSync(args.db) || !args.lib || !existsSync(args.lib)) {
    console.error(
      'usage: npm run bench:search -- --db <data>/db/earshot.db --lib <its music folder> [--rounds N] [--clients 16] [--queries 3000]',
    );
    process.exit(64);
  }
  if (!args.dist && !existsSync(new URL('../server/dist/main.js', import.meta.url))) {
    console.error('Build the server first: npm run build -w server');
    process.exit(1);
  }
  const childAt = argv.indexOf('--child');
  if (childAt >= 0) {
    await round(Number(argv[childAt + 1]));
    process.disconnect?.();
    return;
  }
  const settings = launcherSettings();
  if (args.wrk && !wrkPath()) {
    console.log('--wrk: wrk is not installed (apt-get install wrk): the wrk cross-check is skipped');
    args.wrk = false;
  }
  console.log(
    `search bench: ${args.db}, ${availableParallelism()} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, settings: ${Object.entries(settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  // Each round in a fresh process with the launcher's settings (they must be set before node starts);
  // with several builds, round n of each before round n + 1 of any.
  const dists = distsOf(argv);
  const label = (dist: string | null) => (dist === null ? '' : dists.length > 1 ? `[${basename(dist)}] ` : '');
  const figures = new Map<string | null, RoundFigures[]>(dists.map((d) => [d, []]));
  // (`--wrk` goes on only when wrk is there: the rounds then skip it too.)
  const otherArgs = argv.filter((a, i) => a !== '--dist' && argv[i - 1] !== '--dist' && (a !== '--wrk' || args.wrk));
  for (let n = 1; n <= args.rounds; n++) {
    for (const dist of dists) {
      const child = spawn(
        process.execPath,
        [
          ...process.execArgv,
          fileURLToPath(import.meta.url),
          ...otherArgs,
          ...(dist === null ? [] : ['--dist', dist]),
          '--child',
          String(n),
        ],
        {
          stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
          env: { ...process.env, ...settings },
        },
      );
      // wrk runs from here, not from the measured server's process (see wrkInParent).
      child.on('message', (m: { wrk?: WrkRequest }) => {
        if (!m.wrk) return;
        wrkMix(m.wrk).then(
          (figures) => child.send({ figures }),
          (err: Error) => child.send({ error: err.message }),
        );
      });
      const started = loadavg()[0];
      if (!child.stdout) throw new Error('the round child has no stdout');
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (isLogLine(line)) return;
        console.log(`${label(dist)}${line}`);
        const f = roundFigures(line, started);
        if (f) figures.get(dist)?.push(f);
        const wrk = /^round \d+: unseen mix through wrk: p50 [\d.]+ \/ p90 [\d.]+ \/ p99 ([\d.]+) ms/.exec(line);
        const last = figures.get(dist)?.at(-1);
        if (wrk && last) last.wrkP99 = Number(wrk[1]);
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      if (code !== 0) throw new Error(`round ${n}${dist ? ` of ${dist}` : ''} failed (exit ${code})`);
    }
  }
  if (dists.length > 1 || args.rounds > 1) printSummary(dists, figures, label);
}

/** The `--dist` builds asked for, as absolute paths (null: server/dist). */
function distsOf(argv: readonly string[]): (string | null)[] {
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const named = argv.flatMap((a, i) => (a === '--dist' && argv[i + 1] ? [argv[i + 1]] : []));
  if (named.length === 0) return [null];
  return named.map((d) => {
    const fromRepo = resolve(repo, d);
    return existsSync(fromRepo) ? fromRepo : resolve(d);
  });
}

/** One round's figures read back from its line. */
interface RoundFigures {
  libraryP99: number;
  unseenP99: number;
  unseenRps: number;
  unseenCpuUs: number;
  /** The same kind of mix through wrk (`--wrk`), when run. */
  wrkP99: number | null;
  load: number;
}

function roundFigures(line: string, load: number): RoundFigures | null {
  const library = /^round \d+: p50 [\d.]+ \/ p90 [\d.]+ \/ p99 ([\d.]+) ms/.exec(line);
  const unseen =
    /unseen mix: p50 [\d.]+ \/ p90 [\d.]+ \/ p99 ([\d.]+) ms, max \d+ ms \(\d+ queries, (\d+) req\/s, (\d+) µs CPU/.exec(
      line,
    );
  if (!library || !unseen) return null;
  return {
    libraryP99: Number(library[1]),
    unseenP99: Number(unseen[1]),
    unseenRps: Number(unseen[2]),
    unseenCpuUs: Number(unseen[3]),
    wrkP99: null,
    load,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Each build's medians over its rounds, and the ratio to the last build (the baseline). */
function printSummary(
  dists: (string | null)[],
  figures: Map<string | null, RoundFigures[]>,
  label: (dist: string | null) => string,
): void {
  const base = figures.get(dists[dists.length - 1]) ?? [];
  const baseUnseen = median(base.map((f) => f.unseenP99));
  const baseLibrary = median(base.map((f) => f.libraryP99));
  for (const dist of dists) {
    const f = figures.get(dist) ?? [];
    const unseen = median(f.map((x) => x.unseenP99));
    const library = median(f.map((x) => x.libraryP99));
    const ratio = dists.length > 1 ? ` (${(unseen / baseUnseen).toFixed(2)}× the last build's)` : '';
    console.log(
      `summary ${label(dist) || `${dist ?? 'server/dist'} `}over ${f.length} rounds: unseen mix p99 median ` +
        `${unseen.toFixed(1)} ms${ratio} (rounds ${f.map((x) => x.unseenP99.toFixed(1)).join(', ')}), ` +
        `${median(f.map((x) => x.unseenRps)).toFixed(0)} req/s, ${median(f.map((x) => x.unseenCpuUs)).toFixed(0)} µs CPU ` +
        `per request; library mix p99 median ${library.toFixed(1)} ms` +
        (f.some((x) => x.wrkP99 !== null)
          ? `; unseen mix through wrk p99 median ${median(f.flatMap((x) => (x.wrkP99 === null ? [] : [x.wrkP99]))).toFixed(1)} ms`
          : '') +
        (dists.length > 1 ? ` (${(library / baseLibrary).toFixed(2)}×)` : '') +
        `; load average at each round's start ${f.map((x) => x.load.toFixed(2)).join(', ')}`,
    );
  }
}

await main();
