/**
 * Start-up benchmark (issue 16 item 5): CPU and wall time of `earshot serve` and `earshot scan`
 * until their first useful work.
 *
 *   npm run bench:startup -- [--runs 7] [--lib DIR] [--dist server/dist --dist server/dist-base]
 *
 * Each run is a fresh process started as users start it: `serve` with the launcher's settings
 * (scripts/earshot-serve.sh: jemalloc, semi-space), `scan` as plain `node` (what `npx earshot scan`
 * does), both on a data dir that already exists, is migrated and has an account (a restart, the
 * common case; the first run of each build makes it and is not counted). A preload hook (startup-hook.cjs) stops
 * the process at the first output line "Earshot is listening" / "Scanning" and reports the CPU
 * time of the whole process (all threads) and the wall time since the process started.
 *
 * Several `--dist` directories (copies of `server/dist` inside the repository, so their package
 * imports resolve) are measured alternately, run by run, so a baseline and a change see the same
 * load; the load average is printed with each set. `--lib` is the music folder (default: empty);
 * with a library, its first run per build is a full `earshot scan` so the database holds it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { entryOf } from './entry.ts';
import { launcherSettings } from './search-load.ts';

interface Args {
  runs: number;
  lib: string | undefined;
  dists: string[];
  commands: Array<'serve' | 'scan'>;
}

const repo = fileURLToPath(new URL('../', import.meta.url));
const hook = fileURLToPath(new URL('./startup-hook.cjs', import.meta.url));

function parseArgs(argv: string[]): Args {
  const all = (name: string) => argv.flatMap((a, i) => (a === `--${name}` && argv[i + 1] ? [argv[i + 1]] : []));
  const one = (name: string) => all(name)[0];
  const dists = all('dist').map((d) => (isAbsolute(d) ? d : resolve(repo, d)));
  const commands = all('cmd') as Array<'serve' | 'scan'>;
  return {
    runs: Number(one('runs') ?? 7),
    lib: one('lib'),
    dists: dists.length > 0 ? dists : [join(repo, 'server/dist')],
    commands: commands.length > 0 ? commands : ['scan', 'serve'],
  };
}

interface Sample {
  cpuMs: number;
  wallMs: number;
  rss: number;
}

/** One process until its first useful line; the hook's JSON line arrives on fd 3. */
function runOnce(
  dist: string,
  command: 'serve' | 'scan' | 'scan-full',
  env: NodeJS.ProcessEnv,
  measure: boolean,
): Promise<Sample | null> {
  const args = [...(measure ? ['--require', hook] : []), entryOf(dist)];
  args.push(...(command === 'scan-full' ? ['scan', '--full'] : [command]));
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let report = '';
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stdio[3]?.on('data', (d: Buffer) => {
      report += d.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => {
      if (!measure) return code === 0 ? done(null) : fail(new Error(`${command} exited ${code}:\n${output}`));
      const line = report.trim().split('\n').pop();
      if (!line) return fail(new Error(`${command} (${dist}) never reached its first useful line:\n${output}`));
      done(JSON.parse(line) as Sample);
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'earshot-startup-'));
  const musicDir = args.lib ?? join(work, 'music');
  mkdirSync(musicDir, { recursive: true });
  const launcher = launcherSettings();
  const envFor = (dist: string, command: 'serve' | 'scan') => {
    const base: NodeJS.ProcessEnv = {
      ...process.env,
      EARSHOT_DATA_DIR: join(work, `data-${args.dists.indexOf(dist)}`),
      EARSHOT_MUSIC_DIR: musicDir,
      EARSHOT_PORT: '0',
      EARSHOT_HOST: '127.0.0.1',
      EARSHOT_LOG_FORMAT: 'json',
    };
    // `npx earshot scan` is plain node; the server starts through the launcher.
    return command === 'serve' ? { ...base, ...launcher } : base;
  };
  console.log(
    `start-up bench: ${args.runs} runs of ${args.commands.join(', ')} per build, library ${args.lib ?? '(empty)'}; ` +
      `serve with ${Object.entries(launcher)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
  );
  // Node reads and parses the certificates NODE_EXTRA_CA_CERTS names before any JavaScript runs
  // (~30 ms of CPU for Debian's 140-certificate bundle on this machine, bench/README.md "boot9"):
  // part of every figure below when this environment sets it, and of no server that does not.
  if (process.env.NODE_EXTRA_CA_CERTS)
    console.log(
      `note: NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS} is set here and passed on; Node loads it at every start ` +
        '(run with NODE_EXTRA_CA_CERTS= to measure a start without it)',
    );
  try {
    // Warm-up per build: migrates the data dir (and scans the library into it), then adds an
    // account — a restart of a server in use (one with no account yet also makes and prints a
    // first-run setup link at each start).
    for (const dist of args.dists) {
      await runOnce(dist, args.lib ? 'scan-full' : 'scan', envFor(dist, 'scan'), false);
      const add = spawnSync(
        process.execPath,
        [entryOf(dist), 'user', 'add', 'bench', '--role', 'admin', '--password', 'start-up bench password'],
        { env: envFor(dist, 'scan'), encoding: 'utf8' },
      );
      if (add.status !== 0) throw new Error(`earshot user add failed (${dist}):\n${add.stdout}${add.stderr}`);
    }
    for (const command of args.commands) {
      const samples = new Map<string, Sample[]>(args.dists.map((d) => [d, []]));
      const loads: number[] = [];
      // The first start of a build (or after a Node or flag change) has no V8 code cache and
      // writes one: measured apart, not in the medians.
      const first = new Map<string, Sample>();
      for (const dist of args.dists)
        first.set(dist, (await runOnce(dist, command, envFor(dist, command), true)) as Sample);
      for (let i = 0; i < args.runs; i++)
        for (const dist of args.dists) {
          samples.get(dist)?.push((await runOnce(dist, command, envFor(dist, command), true)) as Sample);
          loads.push(loadavg()[0]);
        }
      const target = command === 'serve' ? '"Earshot is listening"' : '"Scanning"';
      console.log(
        `\n${command}, until ${target} (medians of ${args.runs}; load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}):`,
      );
      const firstDist = args.dists[0];
      for (const dist of args.dists) {
        const s = samples.get(dist) ?? [];
        const cpu = median(s.map((x) => x.cpuMs));
        const wall = median(s.map((x) => x.wallMs));
        const base = samples.get(firstDist) ?? [];
        const ratio =
          dist === firstDist
            ? ''
            : `  (${(cpu / median(base.map((x) => x.cpuMs))).toFixed(2)}× CPU of the first build)`;
        console.log(
          `  ${dist.replace(repo, '').padEnd(22)} CPU ${cpu.toFixed(0).padStart(5)} ms  wall ${wall.toFixed(0).padStart(5)} ms  ` +
            `RSS ${(median(s.map((x) => x.rss)) / 1024 / 1024).toFixed(0)} MB  ` +
            `(CPU ${s.map((x) => x.cpuMs.toFixed(0)).join(' ')})${ratio}; first start CPU ${first.get(dist)?.cpuMs.toFixed(0)} ms`,
        );
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
