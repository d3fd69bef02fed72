#!/usr/bin/env node
/**
 * Dependency-free bootstrap behind the README's two commands:
 *
 *   npm start  → node scripts/bootstrap.mjs start [-- earshot flags]
 *   npm test   → node scripts/bootstrap.mjs test  [-- vitest filters]
 *
 * It works on a fresh clone before `npm install` has ever run: it installs what is missing or
 * stale (npm dependencies from the lockfile, the build, Debian's ffmpeg / yt-dlp / libjemalloc2 —
 * and chromium for tests — when running as root with apt), then starts the server (through
 * scripts/earshot-serve.sh, the launcher with the memory settings) or runs the whole suite.
 * Only Node's standard library is used here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STAMPS = join(ROOT, 'node_modules', '.earshot');
const isTTY = process.stdout.isTTY === true && !process.env.NO_COLOR;
const c = (code) => (s) => (isTTY ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = c(1);
const dim = c(2);
const yellow = c(33);
const red = c(31);
const green = c(32);

function step(message) {
  console.log(`${bold('earshot ›')} ${message}`);
}

function run(cmd, args, options = {}) {
  console.log(dim(`  $ ${cmd} ${args.join(' ')}`));
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: process.env, ...options });
  if (r.error) throw new Error(`${cmd} could not be started: ${r.error.message}`);
  return r.status ?? 1;
}

/**
 * Runs independent commands at once — at most `limit` at a time, as the machine has cores — and
 * shows each one's output whole when it ends, in the order given (never interleaved). Resolves to
 * the exit statuses in that order. On 2 cores this overlaps the two builds, and lint with the type
 * checks, which used to run one after another.
 */
function runConcurrently(jobs, limit = Math.max(2, availableParallelism())) {
  const env = isTTY ? { ...process.env, FORCE_COLOR: '1' } : process.env;
  const results = new Array(jobs.length);
  let printed = 0;
  const flush = () => {
    while (printed < jobs.length && results[printed]) {
      const { cmd, args } = jobs[printed];
      console.log(dim(`  $ ${cmd} ${args.join(' ')}`));
      process.stdout.write(results[printed].output);
      printed++;
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const { cmd, args } = jobs[i];
      results[i] = await new Promise((resolve) => {
        const chunks = [];
        const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout.on('data', (d) => chunks.push(d));
        child.stderr.on('data', (d) => chunks.push(d));
        child.on('error', (e) => resolve({ status: 1, output: `${cmd} could not be started: ${e.message}\n` }));
        child.on('close', (code) => resolve({ status: code ?? 1, output: Buffer.concat(chunks).toString() }));
      });
      flush();
    }
  };
  return Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker)).then(() =>
    results.map((r) => r.status),
  );
}

/** runConcurrently, then stops at the first job (in the order given) that failed. */
async function mustRunConcurrently(jobs) {
  const statuses = await runConcurrently(jobs);
  statuses.forEach((status, i) => {
    if (status !== 0) {
      console.error(red(`✗ ${jobs[i].what} failed (exit ${status}).`));
      process.exit(status);
    }
  });
}

function mustRun(cmd, args, what) {
  const status = run(cmd, args);
  if (status !== 0) {
    console.error(red(`✗ ${what} failed (exit ${status}).`));
    process.exit(status);
  }
}

function hashFiles(paths) {
  const h = createHash('sha256');
  for (const p of paths) {
    h.update(p);
    h.update(existsSync(join(ROOT, p)) ? readFileSync(join(ROOT, p)) : '<missing>');
  }
  return h.digest('hex');
}

/** Hash of a source tree by path, size and mtime (fast; content changes always touch mtime). */
function hashTree(dirs, skip = /(^|\/)(node_modules|dist|\.git)(\/|$)/) {
  const h = createHash('sha256');
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(dir, entry.name);
      const rel = relative(ROOT, full);
      if (skip.test(rel)) continue;
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const s = statSync(full);
        h.update(`${rel}:${s.size}:${s.mtimeMs}\n`);
      }
    }
  };
  for (const d of dirs) {
    const full = join(ROOT, d);
    if (existsSync(full) && statSync(full).isFile()) {
      const s = statSync(full);
      h.update(`${d}:${s.size}:${s.mtimeMs}\n`);
    } else walk(full);
  }
  return h.digest('hex');
}

function stampMatches(name, value) {
  const file = join(STAMPS, name);
  return existsSync(file) && readFileSync(file, 'utf8') === value;
}

function writeStamp(name, value) {
  mkdirSync(STAMPS, { recursive: true });
  writeFileSync(join(STAMPS, name), value);
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 11)) {
    console.error(red(`Earshot needs Node.js 20.11 or newer; this is ${process.versions.node}.`));
    console.error(
      'Install Node 20 LTS (e.g. `nvm install 20`, or NodeSource packages on Debian/Ubuntu) and try again.',
    );
    process.exit(1);
  }
}

function ensureNpmDeps() {
  const manifests = [
    'package-lock.json',
    'package.json',
    'server/package.json',
    'web/package.json',
    'e2e/package.json',
    'bench/package.json',
  ];
  const want = hashFiles(manifests);
  if (existsSync(join(ROOT, 'node_modules')) && stampMatches('deps', want)) return;
  step('installing npm dependencies (first run builds better-sqlite3 from source: ~2 minutes)…');
  const hasLock = existsSync(join(ROOT, 'package-lock.json'));
  if (hasLock) {
    // `npm ci` installs exactly the lockfile. If it refuses (a lockfile out of step with a
    // package.json edited by hand), fall back to `npm install` rather than leave the user stuck.
    if (run('npm', ['ci', '--no-audit', '--no-fund']) !== 0) {
      console.error(yellow('! npm ci failed; retrying with npm install (the lockfile may be out of date)…'));
      mustRun('npm', ['install', '--no-audit', '--no-fund'], 'npm dependency installation');
    }
  } else {
    mustRun('npm', ['install', '--no-audit', '--no-fund'], 'npm dependency installation');
  }
  writeStamp('deps', want);
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Debian packages: installed when running as root with apt (or via passwordless sudo); otherwise
 * a clear message. `required` ones stop the command when they cannot be installed.
 */
function ensureDebianPackages(packages, { required }) {
  const present = (p) => (p.present ? p.present() : have(p.bin));
  const missing = packages.filter((p) => !present(p));
  if (missing.length === 0) return true;
  const names = missing.map((p) => p.pkg);
  const isRoot = process.getuid?.() === 0;
  const canSudo = !isRoot && have('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (have('apt-get') && (isRoot || canSudo)) {
    const prefix = isRoot ? [] : ['sudo', '-n'];
    step(`installing Debian packages: ${names.join(', ')}…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const exec = (args) =>
      run(prefix[0] ?? args[0], prefix.length ? [...prefix.slice(1), ...args] : args.slice(1), { env });
    if (
      exec(['apt-get', 'update', '-qq']) === 0 &&
      exec(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...names]) === 0
    ) {
      const still = missing.filter((p) => !present(p));
      if (still.length === 0) return true;
    }
  }
  const msg =
    `Missing: ${names.join(', ')}. Install with: sudo apt-get install -y ${names.join(' ')}` +
    ' (Termux: pkg install ' +
    names.join(' ') +
    ')';
  if (required) {
    console.error(red(`✗ ${msg}`));
    return false;
  }
  console.warn(yellow(`! ${msg}`));
  for (const p of missing) console.warn(yellow(`  without ${p.bin ?? p.pkg}: ${p.why}`));
  return false;
}

/** Builds what is missing or older than its sources: the server and the web app, at once. */
async function ensureBuild() {
  const serverHash = hashTree([
    'server/src',
    'server/scripts',
    'server/tsconfig.json',
    'server/tsconfig.build.json',
    'tsconfig.base.json',
    'server/package.json',
  ]);
  const jobs = [];
  const stamps = [];
  if (!existsSync(join(ROOT, 'server/dist/cli/index.js')) || !stampMatches('build-server', serverHash)) {
    rmSync(join(ROOT, 'server/dist'), { recursive: true, force: true });
    jobs.push({ cmd: 'npm', args: ['run', 'build', '-w', 'server'], what: 'server build' });
    stamps.push(['build-server', serverHash]);
  }
  const hasWeb = existsSync(join(ROOT, 'web/package.json')) && existsSync(join(ROOT, 'web/vite.config.ts'));
  const webHash = hasWeb ? hashTree(['web', 'tsconfig.base.json']) : '';
  if (hasWeb && (!existsSync(join(ROOT, 'web/dist/index.html')) || !stampMatches('build-web', webHash))) {
    jobs.push({ cmd: 'npm', args: ['run', 'build', '-w', 'web'], what: 'web app build' });
    stamps.push(['build-web', webHash]);
  }
  if (jobs.length === 0) return;
  step(`building ${jobs.map((j) => (j.what === 'server build' ? 'the server' : 'the web app')).join(' and ')}…`);
  await mustRunConcurrently(jobs);
  for (const [name, value] of stamps) writeStamp(name, value);
}

const RUNTIME_PACKAGES = [
  { bin: 'ffmpeg', pkg: 'ffmpeg', why: 'no transcoding (original files still stream)' },
  { bin: 'yt-dlp', pkg: 'yt-dlp', why: 'no YouTube / SoundCloud / URL playback' },
];
const TEST_PACKAGES = [
  ...RUNTIME_PACKAGES,
  { bin: 'chromium', pkg: 'chromium', why: 'no browser tests' },
  { bin: 'xmllint', pkg: 'libxml2-utils', why: 'no XSD validation of Subsonic XML in the tests' },
  // The deploy/ artifacts' tests: `promtool check rules` and the fail2ban filter.
  { bin: 'promtool', pkg: 'prometheus', why: 'alert rules not checked by promtool' },
  { bin: 'fail2ban-regex', pkg: 'fail2ban', why: 'fail2ban filter not checked' },
];

/**
 * PostgreSQL's server for the tests that run on both engines (a throwaway cluster on loopback,
 * server/src/test/postgres.ts); without it those tests skip and say why.
 */
const PG_TEST_PACKAGES = [
  {
    pkg: 'postgresql',
    present: () =>
      existsSync('/usr/lib/postgresql') &&
      readdirSync('/usr/lib/postgresql').some((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'initdb'))),
    why: 'the PostgreSQL backend tests are skipped',
  },
];

/** The launcher of the server: memory settings, then `earshot serve` (scripts/earshot-serve.sh). */
const SERVE_SCRIPT = join(ROOT, 'scripts/earshot-serve.sh');
/** Node of this bootstrap first on PATH, so the launcher's `node` is the same one. */
const launcherEnv = () => ({ ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` });
/** What the launcher sets (KEY=VALUE lines of `earshot-serve.sh --env`). */
function launcherSettings() {
  const r = spawnSync('sh', [SERVE_SCRIPT, '--env'], { encoding: 'utf8', env: launcherEnv() });
  return r.status === 0 ? r.stdout : '';
}
/** Optional: a smaller idle server (the launcher preloads jemalloc when it is installed). */
const ALLOCATOR_PACKAGES =
  process.platform === 'linux' && process.env.EARSHOT_ALLOCATOR !== 'system'
    ? [
        {
          pkg: 'libjemalloc2',
          present: () => launcherSettings().includes('LD_PRELOAD='),
          why: "glibc's allocator keeps memory a library scan freed (~25 MB more when idle)",
        },
      ]
    : [];

async function start(args) {
  checkNode();
  ensureNpmDeps();
  ensureDebianPackages([...RUNTIME_PACKAGES, ...ALLOCATOR_PACKAGES], { required: false });
  await ensureBuild();
  step(`starting Earshot ${dim('(Ctrl+C to stop)')}`);
  // Through the launcher, as the systemd unit and Termux do: the same memory settings everywhere.
  const child = spawn('sh', [SERVE_SCRIPT, ...args], { cwd: ROOT, stdio: 'inherit', env: launcherEnv() });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

async function test(args) {
  checkNode();
  ensureNpmDeps();
  if (!ensureDebianPackages(TEST_PACKAGES, { required: true })) process.exit(1);
  ensureDebianPackages([...PG_TEST_PACKAGES, ...ALLOCATOR_PACKAGES], { required: false });
  await ensureBuild();
  // Lint and each workspace's type check (what `npm run lint` and `npm run check` run), at once.
  step('lint and types…');
  await mustRunConcurrently([
    { cmd: 'npm', args: ['run', 'lint'], what: 'lint' },
    ...['server', 'web', 'e2e', 'bench'].map((w) => ({
      cmd: 'npm',
      args: ['run', 'check', '-w', w],
      what: `types (${w})`,
    })),
  ]);
  step('unit, integration and end-to-end tests…');
  const report = join(ROOT, 'node_modules', '.earshot', 'vitest-report.json');
  rmSync(report, { force: true });
  const status = run(process.execPath, [
    join(ROOT, 'node_modules/vitest/vitest.mjs'),
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...args,
  ]);
  let summary = null;
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    summary = { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + r.numTodoTests };
  }
  if (summary) {
    const line = `${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`;
    console.log(status === 0 ? green(line) : red(line));
  }
  process.exit(status);
}

const [mode, ...rest] = process.argv.slice(2);
const args = rest[0] === '--' ? rest.slice(1) : rest;
if (mode === 'start') await start(args);
else if (mode === 'test') await test(args);
else if (mode === 'setup') {
  checkNode();
  ensureNpmDeps();
  ensureDebianPackages([...TEST_PACKAGES, ...PG_TEST_PACKAGES, ...ALLOCATOR_PACKAGES], { required: false });
  await ensureBuild();
  step(green('ready.'));
} else {
  console.error('usage: node scripts/bootstrap.mjs start|test|setup [-- args]');
  process.exit(64);
}
