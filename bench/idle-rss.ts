/**
 * Idle memory of the real server after a full scan (issue 16: idle RSS ≤ 80 MB at 50,000 files,
 * watcher on, default settings).
 *
 *   npm run bench:idle -- --lib DIR [--runs 2] [--settle 10] [--dist server/dist --dist server/dist-base]
 *
 * Each run starts `earshot serve` exactly as the launcher does (scripts/earshot-serve.sh's
 * settings, default settings otherwise) on a fresh data dir, so its scan on start is the full scan
 * of DIR; when the log says "library scan finished", it waits --settle seconds (jemalloc returns
 * freed pages after ~1 s; idle means nothing asked of the server) and reads the process's memory
 * from /proc: RSS, anonymous and file-backed parts, and the V8 heap's share is not visible from
 * outside, so the anonymous part is the figure to shrink. Builds given with --dist are measured
 * alternately, run by run, beside the load average.
 *
 * The server starts as `bin/earshot.js` starts it (`cli/launch.js`: the one-file bundle through its
 * V8 code cache, in builds that have it). A restart is the common case, so the code cache each run
 * wrote (in its data dir's `cache/code/`, 10 s after start) is handed to the next run of the same
 * build; the first run of each build starts without one (printed as "cold").
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { entryOf } from './entry.ts';
import { launcherSettings } from './search-load.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const argv = process.argv.slice(2);
const all = (name: string) => argv.flatMap((a, i) => (a === `--${name}` && argv[i + 1] ? [argv[i + 1]] : []));
const lib = all('lib')[0];
if (!lib) throw new Error('--lib DIR: the music folder to scan (npm run bench:genlib)');
const runs = Number(all('runs')[0] ?? 2);
const settleMs = Number(all('settle')[0] ?? 10) * 1000;
const dists = all('dist').map((d) => (isAbsolute(d) ? d : resolve(repo, d)));
if (dists.length === 0) dists.push(join(repo, 'server/dist'));

interface Figures {
  rss: number;
  anon: number;
  file: number;
  scanSeconds: number;
  load: number;
  cold: boolean;
}

/** Each build's code cache, carried from one run's data dir to the next. */
const codeCaches = new Map<string, string>();

const kb = (status: string, field: string) =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;

async function runOnce(dist: string): Promise<Figures> {
  const data = mkdtempSync(join(tmpdir(), 'earshot-idle-'));
  const carried = codeCaches.get(dist);
  if (carried) cpSync(carried, join(data, 'cache', 'code'), { recursive: true });
  const child = spawn(process.execPath, [entryOf(dist), 'serve'], {
    env: {
      ...process.env,
      ...launcherSettings(),
      EARSHOT_DATA_DIR: data,
      EARSHOT_MUSIC_DIR: lib,
      EARSHOT_PORT: '0',
      EARSHOT_HOST: '127.0.0.1',
      EARSHOT_LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const t0 = performance.now();
    await new Promise<void>((done, fail) => {
      let buffered = '';
      child.stdout?.on('data', (d: Buffer) => {
        buffered += d.toString();
        if (buffered.includes('"library scan finished"')) done();
        buffered = buffered.slice(-200);
      });
      child.on('exit', (code) => fail(new Error(`the server exited (${code}) before its scan finished`)));
    });
    const scanSeconds = (performance.now() - t0) / 1000;
    await delay(settleMs);
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return {
      rss: kb(status, 'VmRSS'),
      anon: kb(status, 'RssAnon'),
      file: kb(status, 'RssFile'),
      scanSeconds,
      load: loadavg()[0],
      // Builds without the launcher entry have no code cache at all.
      cold: !carried && entryOf(dist).endsWith('launch.js'),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
    if (existsSync(join(data, 'cache', 'code'))) {
      const keep = codeCaches.get(dist) ?? mkdtempSync(join(tmpdir(), 'earshot-idle-code-'));
      cpSync(join(data, 'cache', 'code'), keep, { recursive: true });
      codeCaches.set(dist, keep);
    }
    rmSync(data, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

const results = new Map<string, Figures[]>(dists.map((d) => [d, []]));
for (let i = 0; i < runs; i++)
  for (const dist of dists) {
    const f = await runOnce(dist);
    results.get(dist)?.push(f);
    console.log(
      `${dist.replace(repo, '')} run ${i + 1}: idle RSS ${mb(f.rss)} (anon ${mb(f.anon)}, file ${mb(f.file)}), scan on start ${f.scanSeconds.toFixed(1)} s, load ${f.load.toFixed(1)}${f.cold ? ', cold (no code cache)' : ''}`,
    );
  }
console.log(`\nidle RSS ${settleMs / 1000} s after the full scan on start of ${lib}, watcher on (medians of ${runs}):`);
for (const [dist, fs] of results)
  console.log(
    `  ${dist.replace(repo, '').padEnd(22)} RSS ${mb(median(fs.map((f) => f.rss)))}  anon ${mb(median(fs.map((f) => f.anon)))}  file ${mb(median(fs.map((f) => f.file)))}`,
  );
for (const dir of codeCaches.values()) rmSync(dir, { recursive: true, force: true });
