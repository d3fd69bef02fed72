/**
 * Scan + search benchmark on a generated library (see genlib.ts).
 *
 *   npm run bench:scan -- --files 50000 [--runs 3] [--lib DIR] [--clients 16] [--queries 3000] [--warmup 600] [--no-mpd] [--dist DIR]
 *
 * The server runs with its DEFAULT settings (watcher on, scan on start, background work), as
 * `npm start` runs it; the settings that differ are printed (`EARSHOT_*` variables of the bench's
 * environment pass through, to measure one on purpose). Each run: a fresh data dir; start-up, whose
 * scan on start is the full scan (files/s, CPU, peak RSS, event-loop lag p99 during it); a
 * no-change rescan (seconds), idle RSS after, DB size; then local search latency over HTTP with
 * N concurrent clients on queries from the library and on unseen queries (another seed). When mpd
 * is installed, it scans the same library after each run (mpd.ts) and the ratios are printed.
 * Prints each run and the medians. Uses the compiled server (server/dist) when it is built, like
 * production; otherwise the sources through tsx.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { type MpdFigures, findMpd, runMpd } from './mpd.ts';
import {
  benchServerEnv,
  describeMix,
  differingSettings,
  isLogLine,
  launcherSettings,
  measureSearch,
  percentile,
} from './search-load.ts';

interface Args {
  files: number;
  runs: number;
  lib: string;
  clients: number;
  queries: number;
  warmup: number;
  mpd: boolean;
  /** JSON file with the unseen query mix (written by the parent, read by each run's child). */
  unseenFile: string | undefined;
  /** Another build (a copy of an older server/dist, e.g. server/dist-base): before/after in one session. */
  dist: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const files = Number(get('files') ?? 10000);
  return {
    files,
    runs: Number(get('runs') ?? 1),
    lib: get('lib') ?? join(tmpdir(), `earshot-bench-${files >= 1000 ? `${files / 1000}k` : files}`),
    clients: Number(get('clients') ?? 16),
    queries: Number(get('queries') ?? 3000),
    warmup: Number(get('warmup') ?? 600),
    mpd: !argv.includes('--no-mpd'),
    unseenFile: get('unseen-file'),
    dist: get('dist'),
  };
}

const serverRoot = new URL('../server/', import.meta.url);
let distRoot = new URL('dist/', serverRoot);
async function load<T>(rel: string): Promise<T> {
  const dist = new URL(`${rel}.js`, distRoot);
  const src = new URL(`src/${rel}.ts`, serverRoot);
  return (await import(existsSync(dist) ? dist.href : src.href)) as T;
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface RunFigures {
  baselineRss: number;
  filesPerSecond: number;
  fullScanSeconds: number;
  /** CPU time of the full scan (all threads), per file: steadier than wall time on a shared machine. */
  cpuMsPerFile: number;
  rescanSeconds: number;
  peakRss: number;
  idleRss: number;
  dbBytes: number;
  lagP99Ms: number;
  searchP50Ms: number;
  searchP99Ms: number;
  unseenP50Ms: number;
  unseenP99Ms: number;
  unseenRps: number;
  unseenCpuUs: number;
  tracks: number;
  files: number;
  /** Start-up until the server was ready (its watcher listing the tree included), seconds. */
  readySeconds: number;
}

async function memoryBreakdown(label: string): Promise<void> {
  const maps: [string, number][] = [];
  let cur = '';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      const [range, , , , , name] = line.split(/\s+/);
      const [a, b] = range.split('-').map((x) => Number.parseInt(x, 16));
      cur = `${name || 'anon'} ${Math.round((b - a) / 1024)}K`;
    } else if (line.startsWith('Rss:')) maps.push([cur, Number(line.split(/\s+/)[1])]);
  }
  const groups = new Map<string, number>();
  for (const [k, v] of maps) {
    const g = k.startsWith('anon')
      ? Number(k.split(' ')[1].slice(0, -1)) >= 65536 - 1
        ? 'anon 64M-class'
        : Number(k.split(' ')[1].slice(0, -1)) === 256
          ? 'anon 256K'
          : 'anon other'
      : k.split(' ')[0];
    groups.set(g, (groups.get(g) ?? 0) + v);
  }
  console.error(
    label,
    [...groups]
      .sort((x, y) => y[1] - x[1])
      .slice(0, 12)
      .map(([k, v]) => `${k}: ${(v / 1024).toFixed(1)} MB`)
      .join(', '),
  );
  console.error(
    maps
      .filter(([k]) => k.startsWith('anon'))
      .sort((x, y) => y[1] - x[1])
      .slice(0, 12)
      .map(([k, v]) => `${k}=${(v / 1024).toFixed(1)}M`)
      .join(' '),
  );
  console.error(
    JSON.stringify(process.memoryUsage()),
    JSON.stringify(
      (await import('node:v8'))
        .getHeapSpaceStatistics()
        .map((s) => [s.space_name, Math.round(s.space_size / 1048576), Math.round(s.space_used_size / 1048576)]),
    ),
  );
}

type MainModule = typeof import('../server/src/main.ts');
type LoadModule = typeof import('../server/src/config/load.ts');
type ScanSummaryLike = import('../server/src/library/scanner.ts').ScanSummary;

async function oneRun(args: Args, run: number): Promise<RunFigures> {
  const { createEarshot } = await load<MainModule>('main');
  const { loadConfig, describeConfig } = await load<LoadModule>('config/load');
  const dataDir = mkdtempSync(join(tmpdir(), 'earshot-bench-data-'));
  const loaded = loadConfig({
    env: benchServerEnv(dataDir, args.lib),
    argv: [],
    envFile: null,
    cwd: dataDir,
  });
  const { config } = loaded;
  if (run === 1) console.log(`settings that differ from the defaults: ${differingSettings(describeConfig(loaded))}`);
  global.gc?.();
  const baselineRss = process.memoryUsage.rss();
  if (process.env.SMAPS) await memoryBreakdown('before');
  let peak = baselineRss;
  // What the main thread held at the peak (the rest of RSS is the readers' isolates, SQLite, malloc).
  let atPeak = '';
  let phaseNow = 'start-up';
  let snapped = false;
  // SCAN_RSS_TRACE=1: the main thread's memory every 0.5 s of the scan, printed after it.
  const trace: string[] | null = process.env.SCAN_RSS_TRACE ? [] : null;
  let lastTrace = 0;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (trace && performance.now() - lastTrace >= 500) {
      lastTrace = performance.now();
      const m = process.memoryUsage();
      trace.push(
        `${((lastTrace - t0) / 1000).toFixed(1)}s ${phaseNow} rss ${mb(rss)} heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} ext ${mb(m.external)}`,
      );
    }
    if (rss <= peak) return;
    peak = rss;
    const m = process.memoryUsage();
    atPeak = `${phaseNow} ${((performance.now() - t0) / 1000).toFixed(1)} s: main heap ${mb(m.heapUsed)} of ${mb(m.heapTotal)}, external ${mb(m.external)} (array buffers ${mb(m.arrayBuffers)})`;
  }, 25);
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage(); // all threads of the process: the tag workers too
  // Background work as `npm start` runs it: the watcher lists the tree, the scan on start reads it.
  // Its own logger from the settings, as users run it (info, JSON to stdout: the parent drops it).
  const earshot = await createEarshot(config, { background: true });
  try {
    if (!config.scanOnStart) throw new Error('EARSHOT_SCAN_ON_START=false: the bench measures the scan on start');
    const finished = new Promise<ScanSummaryLike>((resolve) => {
      const off = earshot.library.scanner.onProgress((p, final) => {
        phaseNow = (p as { phase?: string }).phase ?? phaseNow;
        const at = Number(process.env.SCAN_HEAP_SNAPSHOT_AT);
        if (at > 0 && (p as { filesDone: number }).filesDone >= at && !snapped) {
          snapped = true;
          console.error('heap snapshot', v8.writeHeapSnapshot(join(tmpdir(), `scan-${process.pid}.heapsnapshot`)));
        }
        if (final) {
          off();
          resolve(p as ScanSummaryLike);
        }
      });
    });
    await earshot.app.ready(); // onReady: watcher started, scan on start begun
    const readySeconds = (performance.now() - t0) / 1000;
    const full = await finished;
    await earshot.library.scanner.idle(); // the final report comes just before the scanner is free
    // The scan's own time (start-up is readySeconds); the CPU figure includes start-up (~1 %).
    const fullSeconds = full.elapsedMs / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    lag.disable();
    clearInterval(sampler);
    if (trace) console.log(`memory during the scan:\n  ${trace.join('\n  ')}`);
    if (full.state !== 'done') throw new Error(`scan ${full.state}: ${full.error}`);

    // ── no-change rescan ──
    const t1 = performance.now();
    const again = await earshot.library.service.runScan({ trigger: 'bench' });
    const rescanSeconds = (performance.now() - t1) / 1000;
    if (again.added + again.updated + again.removed > 0)
      throw new Error(`the no-change rescan changed something: ${JSON.stringify(again)}`);

    // ── idle RSS ──
    global.gc?.();
    await new Promise((r) => setTimeout(r, 1500));
    global.gc?.();
    const idleRss = process.memoryUsage.rss();
    if (process.env.SMAPS) await memoryBreakdown('idle');
    earshot.database.sqlite?.pragma('wal_checkpoint(TRUNCATE)');
    const dbBytes = statSync(earshot.paths.dbFile).size;

    // The scan's figures before the search part, which a heavily loaded machine can make fail.
    console.log(
      `run ${run} scan: ${full.filesFound} files — full scan ${fullSeconds.toFixed(1)} s (${(full.filesFound / fullSeconds).toFixed(0)} files/s, ` +
        `CPU ${((cpuSeconds * 1000) / full.filesFound).toFixed(2)} ms/file), rescan ${rescanSeconds.toFixed(2)} s, peak RSS ${mb(peak)} (${atPeak}), idle RSS ${mb(idleRss)}, load average ${loadavg()[0].toFixed(1)}`,
    );
    // ── search latency over HTTP, N concurrent clients (search-load.ts) ──
    const search = await measureSearch(earshot, {
      clients: args.clients,
      queries: args.queries,
      warmup: args.warmup,
      sessionCookie: (await load<{ SESSION_COOKIE: string }>('accounts/session-store')).SESSION_COOKIE,
      unseen: args.unseenFile ? (JSON.parse(readFileSync(args.unseenFile, 'utf8')) as string[]) : undefined,
    });
    const { latencies, warmup } = search;
    const unseen = search.unseen;
    const figures: RunFigures = {
      baselineRss,
      filesPerSecond: full.filesFound / fullSeconds,
      fullScanSeconds: fullSeconds,
      cpuMsPerFile: (cpuSeconds * 1000) / full.filesFound,
      rescanSeconds,
      peakRss: peak,
      idleRss,
      dbBytes,
      lagP99Ms: lag.percentile(99) / 1e6,
      searchP50Ms: percentile(latencies, 50),
      searchP99Ms: percentile(latencies, 99),
      unseenP50Ms: unseen ? percentile(unseen.latencies, 50) : Number.NaN,
      unseenP99Ms: unseen ? percentile(unseen.latencies, 99) : Number.NaN,
      unseenRps: unseen?.requestsPerSecond ?? Number.NaN,
      unseenCpuUs: unseen?.cpuPerRequestUs ?? Number.NaN,
      tracks: full.added,
      files: full.filesFound,
      readySeconds,
    };
    console.log(
      `run ${run}: ${full.filesFound} files, ${full.added} tracks, ${full.unreadable} unreadable — full scan ${fullSeconds.toFixed(1)} s ` +
        `(${figures.filesPerSecond.toFixed(0)} files/s, CPU ${cpuSeconds.toFixed(1)} s = ${figures.cpuMsPerFile.toFixed(2)} ms/file; phases ${JSON.stringify(full.phaseMs)}), rescan ${rescanSeconds.toFixed(2)} s (phases ${JSON.stringify(again.phaseMs)}), ` +
        `RSS before ${mb(baselineRss)}, peak RSS ${mb(peak)}, idle RSS ${mb(idleRss)}, DB ${mb(dbBytes)}, lag p99 ${figures.lagP99Ms.toFixed(1)} ms, ` +
        `search p50 ${figures.searchP50Ms.toFixed(1)} ms / p99 ${figures.searchP99Ms.toFixed(1)} ms (${args.clients} clients, library mix; ` +
        `p90 ${percentile(latencies, 90).toFixed(1)}, p99 of the second half ${percentile(latencies.slice(latencies.length >> 1), 99).toFixed(1)}, ` +
        `max ${Math.max(...latencies).toFixed(0)} ms, ${search.requestsPerSecond.toFixed(0)} req/s, longest main-thread GC pause ${Math.max(0, ...search.gcPauses).toFixed(1)} ms, RSS after ${mb(process.memoryUsage.rss())}; cold, during the ${warmup.length}-query warm-up right after start-up: ` +
        `p50 ${percentile(warmup, 50).toFixed(1)}, p99 ${percentile(warmup, 99).toFixed(1)} ms; mirrors built ${(search.warmWaitMs / 1000).toFixed(1)} s after it)` +
        (unseen ? `; unseen mix: ${describeMix(unseen)}` : '') +
        `; server ready ${readySeconds.toFixed(2)} s after start (watcher ${config.watch ? 'on' : 'off'})`,
    );
    return figures;
  } finally {
    await earshot.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The measured process should look like production: plain node running server/dist. tsx alone adds
 * ~50 MB of resident memory, which would be charged to the server's RSS. So when the server is
 * built, this file is compiled once with esbuild (genlib bundled in, packages left external) to a
 * plain .mjs beside it, and each run's child is that. Without a build it falls back to tsx.
 */
async function childCommand(): Promise<{ args: string[]; via: string }> {
  if (!existsSync(new URL('main.js', distRoot))) {
    return { args: [...process.execArgv, fileURLToPath(import.meta.url)], via: 'tsx (server sources)' };
  }
  const { build } = await import('esbuild');
  const outfile = fileURLToPath(new URL('./scan.bench.child.mjs', import.meta.url));
  await build({
    entryPoints: [fileURLToPath(import.meta.url)],
    outfile,
    bundle: true,
    packages: 'external',
    external: ['./genlib.ts'],
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  return { args: ['--expose-gc', outfile], via: 'plain node (server/dist)' };
}

async function childRun(run: number, command: string[], settings: Record<string, string>): Promise<RunFigures> {
  const child = spawn(process.execPath, [...command, ...process.argv.slice(2), '--child', String(run)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...settings },
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const result = out.split('\n').find((l) => l.startsWith('RESULT '));
  for (const line of out.split('\n')) if (line && !line.startsWith('RESULT ') && !isLogLine(line)) console.log(line);
  if (code !== 0 || !result) throw new Error(`bench run ${run} failed (exit ${code})`);
  return JSON.parse(result.slice(7)) as RunFigures;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.dist) {
    // Relative to the repository (npm runs this from bench/), as `--dist server/dist-base` is written.
    const dir = resolve(fileURLToPath(new URL('..', import.meta.url)), args.dist);
    if (!existsSync(join(dir, 'main.js'))) throw new Error(`--dist ${args.dist}: no build at ${dir} (main.js)`);
    distRoot = pathToFileURL(`${dir}/`);
  }
  const childAt = process.argv.indexOf('--child');
  if (childAt >= 0) {
    const figures = await oneRun(args, Number(process.argv[childAt + 1]));
    console.log(`RESULT ${JSON.stringify(figures)}`);
    process.exit(0);
  }
  if (!existsSync(args.lib)) {
    console.log(`generating a ${args.files}-file library in ${args.lib} …`);
    // Loaded here only: the measured child never generates, and stays free of genlib's CLI.
    const { generateLibrary } = await import('./genlib.ts');
    const stats = generateLibrary({ files: args.files, out: args.lib, seed: 1 });
    console.log(`generated ${stats.files} files in ${stats.seconds.toFixed(1)} s`);
  }
  // The scanner leaves files younger than 2 s for a later pass (still being copied): let a
  // just-generated library settle so the full scan sees every file.
  await new Promise((r) => setTimeout(r, 2500));
  const command = await childCommand();
  const settings = launcherSettings();
  console.log(
    `scan bench: ${args.lib}, ${availableParallelism()} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, ` +
      `node ${process.version}, measured process: ${command.via}, settings of scripts/earshot-serve.sh: ` +
      Object.entries(settings)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
  );
  // The unseen search mix: titles generated like the library's, from another seed.
  const { unseenQueries } = await import('./genlib.ts');
  const unseenFile = join(tmpdir(), `earshot-bench-unseen-${process.pid}.json`);
  writeFileSync(unseenFile, JSON.stringify(unseenQueries(args.queries, 7)));
  const mpd = args.mpd ? findMpd() : null;
  if (!mpd) {
    console.log(
      args.mpd
        ? 'mpd is not installed (apt-get install mpd): no mpd comparison this time'
        : 'mpd comparison skipped (--no-mpd)',
    );
  }
  // Each run in a fresh process, so one run's memory does not inflate the next one's figures;
  // mpd scans the same library right after each run (same machine state, alternating).
  const runs: RunFigures[] = [];
  const mpdRuns: MpdFigures[] = [];
  try {
    for (let i = 1; i <= args.runs; i++) {
      runs.push(await childRun(i, [...command.args, '--unseen-file', unseenFile], settings));
      if (mpd) {
        const f = await runMpd(mpd.path, args.lib, mpd.version);
        mpdRuns.push(f);
        console.log(
          `mpd ${f.version} run ${i}: ${f.songs} songs — full scan ${f.fullScanSeconds.toFixed(1)} s (${f.filesPerSecond.toFixed(0)} files/s, ` +
            `CPU ${f.cpuMsPerFile.toFixed(2)} ms/file), rescan ${f.rescanSeconds.toFixed(2)} s, peak RSS ${mb(f.peakRss)}, idle RSS ${mb(f.idleRss)}`,
        );
      }
    }
  } finally {
    rmSync(unseenFile, { force: true });
  }
  const m = (k: keyof RunFigures) => median(runs.map((r) => r[k]));
  const mm = (k: keyof MpdFigures) => median(mpdRuns.map((r) => Number(r[k])));
  const vsMpd = (ours: number, theirs: keyof MpdFigures) =>
    mpdRuns.length ? `   mpd ${fmt(theirs, mm(theirs))}, ratio ${(ours / mm(theirs)).toFixed(2)}×` : '';
  const fmt = (k: keyof MpdFigures, v: number) =>
    k === 'filesPerSecond'
      ? `${v.toFixed(0)} files/s`
      : k === 'cpuMsPerFile'
        ? `${v.toFixed(2)} ms/file`
        : k === 'rescanSeconds'
          ? `${v.toFixed(2)} s`
          : mb(v);
  console.log(
    `\nmedians over ${runs.length} run(s), ${m('files').toFixed(0)} files (default settings${mpdRuns.length ? '; mpd in the same runs' : ''}):`,
  );
  console.log(
    `  full scan            ${m('filesPerSecond').toFixed(0)} files/s   (${m('fullScanSeconds').toFixed(1)} s)   target ≥ 1.3× mpd${vsMpd(m('filesPerSecond'), 'filesPerSecond')}`,
  );
  console.log(
    `  scan CPU             ${m('cpuMsPerFile').toFixed(2)} ms/file (all threads, start-up included)   → at most ${(availableParallelism() / (m('cpuMsPerFile') / 1000)).toFixed(0)} files/s on ${availableParallelism()} idle cores${vsMpd(m('cpuMsPerFile'), 'cpuMsPerFile')}`,
  );
  console.log(`  start-up until ready ${m('readySeconds').toFixed(2)} s (the watcher lists the tree)`);
  console.log(
    `  no-change rescan     ${m('rescanSeconds').toFixed(2)} s   target ≤ 0.7 s${vsMpd(m('rescanSeconds'), 'rescanSeconds')}`,
  );
  console.log(`  peak RSS (scan)      ${mb(m('peakRss'))}   target ≤ 150 MB${vsMpd(m('peakRss'), 'peakRss')}`);
  console.log(
    `  idle RSS (after)     ${mb(m('idleRss'))}   target ≤ 80 MB   (process before start-up: ${mb(m('baselineRss'))})${vsMpd(m('idleRss'), 'idleRss')}`,
  );
  console.log(`  DB size              ${mb(m('dbBytes'))}`);
  console.log(`  event-loop lag p99   ${m('lagP99Ms').toFixed(1)} ms (during the scan)`);
  console.log(
    `  search p50 / p99     ${m('searchP50Ms').toFixed(1)} / ${m('searchP99Ms').toFixed(1)} ms at ${args.clients} clients (library mix)`,
  );
  console.log(
    `  search p50 / p99     ${m('unseenP50Ms').toFixed(1)} / ${m('unseenP99Ms').toFixed(1)} ms at ${args.clients} clients (unseen mix), ${m('unseenRps').toFixed(0)} req/s, ${m('unseenCpuUs').toFixed(0)} µs CPU each   target p99 ≤ 10 ms, ≥ 3000 req/s`,
  );
  console.log(
    `  load average after   ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (the machine is shared)`,
  );
}

await main();
