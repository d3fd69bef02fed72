/**
 * The CLI's one-file bundle and its V8 code cache (src/cli/launch.ts, scripts/bundle-cli.mjs):
 * in this process on small bundles (what the cache does), and through the real built binary
 * (that users' commands run from the bundle, write their cache once and take it the next time).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_BIN, SERVER_ROOT } from '../test/build.js';
import { BUNDLE_HEADER, BUNDLE_WRAPPER, cacheDirs, commandOf, readWhole, runBundle } from './launch.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'earshot-launch-'));
  dirs.push(d);
  return d;
}

/** A bundle like bundle-cli.mjs writes: header, strict prologue, code that reports through globalThis. */
function writeBundle(dir: string, hash: string, body: string, wrapped = false): string {
  const file = join(dir, 'app', 'earshot.cjs');
  mkdirSync(join(dir, 'app'), { recursive: true });
  const code = wrapped ? `${BUNDLE_WRAPPER}"use strict";\n${body}\n});\n` : `"use strict";\n${body}\n`;
  writeFileSync(file, `${BUNDLE_HEADER}${hash}\n${code}`);
  return file;
}

const caches = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.v8cache'));
const g = globalThis as { __launchTest?: Record<string, unknown> };

describe('runBundle', () => {
  it.each([
    ['wrapped here', false],
    ['wrapped by the build', true],
  ])('runs the bundle (%s) as a strict CommonJS module with its own require and file names', (_, wrapped) => {
    const dir = tempDir();
    const file = writeBundle(
      dir,
      'aaaa',
      `globalThis.__launchTest = { strict: (function () { return this; })() === undefined,
        sep: require('node:path').sep, file: __filename, dir: __dirname, exportsIsThis: this === module.exports };`,
      wrapped,
    );
    const run = runBundle(file, {}, ['config']);
    expect(run.state).toBe('absent');
    expect(g.__launchTest).toEqual({
      strict: true,
      sep: '/',
      file,
      dir: join(dir, 'app'),
      exportsIsThis: true,
    });
    run.saveCache();
  });

  it('writes a cache once; another command and another bundle have their own', () => {
    const dir = tempDir();
    const file = writeBundle(dir, 'bbbb', 'globalThis.__launchTest = { n: [1, 2, 3].map((x) => x * 2).length };');
    const first = runBundle(file, {}, ['scan']);
    expect(first.state).toBe('absent');
    expect(g.__launchTest).toEqual({ n: 3 });
    const saved = first.saveCache();
    expect(saved?.dir).toBe(join(dir, 'app'));
    expect(first.saveCache()).toBeUndefined(); // once
    // Another command has its own cache file.
    const serve = runBundle(file, {}, ['serve']);
    expect(serve.state).toBe('absent');
    serve.saveCache();
    expect(caches(join(dir, 'app'))).toHaveLength(2);
    // A rebuilt bundle (another hash) writes its own, and the older bundle's are removed.
    const rebuilt = writeBundle(dir, 'cccc', 'globalThis.__launchTest = { n: 4 };');
    runBundle(rebuilt, {}, ['scan']).saveCache();
    expect(caches(join(dir, 'app'))).toHaveLength(1);
    expect(caches(join(dir, 'app'))[0]).toMatch(/^earshot-cccc-/);
  });

  it('takes the cache in a new process, and replaces a damaged one', () => {
    const dir = tempDir();
    // The code turns a V8 flag on at run time, as shared/heap.ts does after a scan (the cache is
    // written after that, at exit): the next start must still take it.
    const file = writeBundle(
      dir,
      'ffff',
      'require("node:v8").setFlagsFromString("--expose-gc"); process.stdout.write("ran ");',
    );
    const launcher = join(SERVER_ROOT, 'dist', 'cli', 'launch.js');
    // A new process each time, as at a real start (in this one V8's in-memory cache would answer).
    const start = () => {
      const r = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { runBundle } from ${JSON.stringify(launcher)}; process.stdout.write(runBundle(${JSON.stringify(file)}, {}, ['scan']).state);`,
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(start()).toBe('ran absent'); // written at exit
    expect(caches(join(dir, 'app'))).toHaveLength(1);
    expect(start()).toBe('ran used');
    writeFileSync(join(dir, 'app', caches(join(dir, 'app'))[0]), Buffer.alloc(4096, 7));
    expect(start()).toBe('ran rejected'); // still runs, compiled from source; a new cache is written
    expect(start()).toBe('ran used');
  });

  it('keeps the cache in the configured cache folder when the environment names one', () => {
    const dir = tempDir();
    const file = writeBundle(dir, 'dddd', 'globalThis.__launchTest = {};');
    const data = join(dir, 'data');
    const saved = runBundle(file, { EARSHOT_DATA_DIR: data }, ['serve']).saveCache();
    expect(saved?.dir).toBe(join(data, 'cache', 'code'));
    // Code the next start runs: this user's only (the cache folder above keeps its usual mode).
    expect(statSync(join(data, 'cache', 'code')).mode & 0o777).toBe(0o700);
    mkdirSync(join(dir, 'plain'));
    expect(statSync(join(data, 'cache')).mode).toBe(statSync(join(dir, 'plain')).mode);
    expect(statSync(join(data, 'cache', 'code', saved?.name ?? '')).mode & 0o777).toBe(0o600);
    expect(caches(join(dir, 'app'))).toEqual([]);
    expect(cacheDirs('/b', { EARSHOT_CACHE_DIR: '/c', EARSHOT_DATA_DIR: '/d' })).toEqual(['/c/code', '/b']);
    expect(cacheDirs('/b', {})).toEqual(['/b']);
  });

  it('falls back to the next folder when the first cannot be written', () => {
    const dir = tempDir();
    const file = writeBundle(dir, 'eeee', 'globalThis.__launchTest = {};');
    // A file where the cache folder would be: mkdir fails, as on a read-only volume.
    writeFileSync(join(dir, 'blocked'), '');
    const saved = runBundle(file, { EARSHOT_CACHE_DIR: join(dir, 'blocked') }, ['serve']).saveCache();
    expect(saved?.dir).toBe(join(dir, 'app'));
  });

  it('reads the code cache into the buffer the bundle was read into when it fits', () => {
    // A fresh buffer's pages cost a first touch each (start-up, issue 16 item 5): the cache takes
    // the bundle's buffer, which V8 no longer needs once the source text is made.
    const dir = tempDir();
    const big = join(dir, 'big');
    const small = join(dir, 'small');
    writeFileSync(big, Buffer.alloc(300_000, 1));
    writeFileSync(small, Buffer.alloc(200_000, 2));
    const first = readWhole(big);
    expect(first.length).toBe(300_000);
    const second = readWhole(small, first);
    expect(second.buffer).toBe(first.buffer);
    expect(second.equals(Buffer.alloc(200_000, 2))).toBe(true);
    // Larger than the buffer: a new one, the old one untouched.
    const third = readWhole(big, second);
    expect(third.buffer).not.toBe(second.buffer);
    expect(third.equals(Buffer.alloc(300_000, 1))).toBe(true);
  });

  it('reads the command as the CLI does, and leaves help and version uncached', () => {
    expect(commandOf([])).toBe('serve');
    expect(commandOf(['--port', '9000'])).toBe('serve');
    expect(commandOf(['scan', '--full'])).toBe('scan');
    expect(commandOf(['--version'])).toBeUndefined();
    expect(commandOf(['help', 'scan'])).toBeUndefined();
  });
});

describe('the built CLI', () => {
  const bundle = join(SERVER_ROOT, 'dist', 'app', 'earshot.cjs');

  it('is one CommonJS file with its content hash first and strict code', () => {
    const code = readFileSync(bundle, 'utf8');
    expect(code.startsWith(BUNDLE_HEADER)).toBe(true);
    // Wrapped by the build (the launcher compiles the text as read), "use strict" first in its body.
    expect(code.split('\n')[1].startsWith(`${BUNDLE_WRAPPER}"use strict";`)).toBe(true);
    expect(code.trimEnd().endsWith('});')).toBe(true);
    // No ES module syntax left (the bundle is a classic script) and no import.meta.
    expect(code).not.toMatch(/\bimport\.meta\b/);
    expect(code).not.toMatch(/^import\s/m);
    const map = JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as { sources: string[] };
    expect(map.sources.some((s) => s.endsWith('src/cli/index.ts'))).toBe(true);
  });

  it('runs a command from the bundle, writes its cache in the data dir, and takes it the next time', () => {
    const data = tempDir();
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, EARSHOT_DATA_DIR: data, EARSHOT_LOG_FORMAT: 'json' };
    const run = () => spawnSync(process.execPath, [CLI_BIN, 'config'], { encoding: 'utf8', env, timeout: 60_000 });
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    const codeDir = join(data, 'cache', 'code');
    const written = caches(codeDir);
    expect(written).toHaveLength(1);
    const before = statSync(join(codeDir, written[0]));
    const second = run();
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    // Taken, not rewritten: V8 accepted it (a rejected cache is replaced by a new file).
    const after = statSync(join(codeDir, written[0]));
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it('loads lazy packages (argon2 for a password) from a start that took the code cache', () => {
    // Node 20 drops a vm.Script's dynamic-import callback when its code comes from the cache: the
    // bundle's import("@node-rs/argon2") failed on every start after the first (sign-in, `user add`).
    const data = tempDir();
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, EARSHOT_DATA_DIR: data, EARSHOT_LOG_FORMAT: 'json' };
    const add = (name: string) =>
      spawnSync(process.execPath, [CLI_BIN, 'user', 'add', name, '--password', 'correct horse battery staple'], {
        encoding: 'utf8',
        env,
        timeout: 60_000,
      });
    const first = add('ann');
    expect(first.status, first.stderr).toBe(0);
    expect(caches(join(data, 'cache', 'code'))).toHaveLength(1);
    const second = add('bob');
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toContain('Created user "bob"');
  });

  it('is pure ASCII (the launcher reads it as Latin-1), other characters escaped', () => {
    const code = readFileSync(bundle, 'latin1');
    expect(code).not.toMatch(/[^\x00-\x7f]/);
    expect(readFileSync(bundle, 'utf8')).toBe(code);
    // music-metadata's MP4 atom names allow "©" (©nam, ©ART …): kept, as an escape in its regex.
    expect(code).toMatch(/validFourCC=\/\^\[[^\]]*\\u00a9/);
  });

  it('loads Node modules that start-up does not need on first use, and they work from there', () => {
    const code = readFileSync(bundle, 'latin1');
    for (const id of ['node:http2', 'node:https', 'node:child_process', 'node:zlib', 'node:fs/promises'])
      expect(code).toContain(`__earshotLazy("${id}")`);
    // No default import of them (which copies every property at once) was left eager by mistake.
    expect(code).not.toMatch(/__toESM\(__earshotLazy\(/);
    // A command that runs child processes (doctor: ffmpeg -version) through the lazy module, from a
    // start that took the code cache.
    const data = tempDir();
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, EARSHOT_DATA_DIR: data, EARSHOT_LOG_FORMAT: 'json' };
    const doctor = () => spawnSync(process.execPath, [CLI_BIN, 'doctor'], { encoding: 'utf8', env, timeout: 60_000 });
    const first = doctor();
    expect(caches(join(data, 'cache', 'code'))).toHaveLength(1);
    const second = doctor();
    expect(second.stdout).toBe(first.stdout);
    expect(second.stdout).toMatch(/ffmpeg\s.*\d+\.\d+/);
  });

  it("opens databases from the bundle without an addon path (better-sqlite3's own search)", () => {
    // better-sqlite3 is inlined in the bundle; opened without `nativeBinding` (the doctor, backups),
    // it finds its addon through `bindings` from its package's folder, not the bundle's.
    const data = tempDir();
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, EARSHOT_DATA_DIR: data, EARSHOT_LOG_FORMAT: 'json' };
    const add = spawnSync(process.execPath, [CLI_BIN, 'user', 'add', 'a', '--password', 'a long enough password'], {
      encoding: 'utf8',
      env,
      timeout: 60_000,
    });
    expect(add.status, add.stderr).toBe(0);
    const doctor = spawnSync(process.execPath, [CLI_BIN, 'doctor'], { encoding: 'utf8', env, timeout: 60_000 });
    expect(doctor.stdout).toContain('Database passes quick_check');
  });

  it('starts from bin/earshot.js to the bundle without setting up the ES module loader', () => {
    // bin/earshot.js and dist/cli/launch.cjs are CommonJS: Node loads its ES loader's translators,
    // resolver and fs/promises only for an ES module (start-up, issue 16 item 5).
    const dir = tempDir();
    const probe = join(dir, 'probe.cjs');
    writeFileSync(
      probe,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'loaded.json'))}, JSON.stringify(process.moduleLoadList)));`,
    );
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, EARSHOT_DATA_DIR: dir, EARSHOT_LOG_FORMAT: 'json' };
    const run = spawnSync(process.execPath, ['--require', probe, CLI_BIN, 'config'], { encoding: 'utf8', env });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('EARSHOT_DATA_DIR');
    const loaded = JSON.parse(readFileSync(join(dir, 'loaded.json'), 'utf8')) as string[];
    // The bundle ran (its settings printed above) and Node's CommonJS loader did all the loading.
    expect(loaded).toContain('NativeModule vm');
    expect(loaded.filter((m) => /esm\/(translators|module_job|resolve)|internal\/fs\/promises/.test(m))).toEqual([]);
  });

  it('restarts until "listening" without node:crypto or the `bindings` search', async () => {
    // Start-up (issue 16 item 5): the launcher names its cache without node:crypto, the bundle
    // loads it on first use (keys are derived when first needed), and the database opens
    // better-sqlite3's addon by its path. A restart of a server with an account: the first start
    // makes the server key and, with no account yet, a setup link (both need node:crypto).
    const dir = tempDir();
    const music = join(dir, 'music');
    mkdirSync(music);
    const probe = join(dir, 'probe.cjs');
    // When the server starts listening (its 'listening' event; the log line may be written later,
    // pino writes asynchronously): what had loaded.
    writeFileSync(
      probe,
      `const fs = require('node:fs'); const net = require('node:net'); let done = false;
      const emit = net.Server.prototype.emit;
      net.Server.prototype.emit = function (event, ...args) {
        if (event === 'listening' && !done) {
          done = true;
          fs.writeFileSync(${JSON.stringify(join(dir, 'loaded.json'))}, JSON.stringify({
            modules: process.moduleLoadList,
            bindings: Object.keys(require.cache).some((f) => /[\\\\/]bindings[\\\\/]/.test(f)),
            sqlite: Object.keys(require.cache).some((f) => f.endsWith('better_sqlite3.node')),
            sqliteJs: Object.keys(require.cache).filter((f) => /[\\/]better-sqlite3[\\/]lib[\\/]/.test(f)),
          }));
        }
        return emit.call(this, event, ...args);
      };`,
    );
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      EARSHOT_DATA_DIR: join(dir, 'data'),
      EARSHOT_MUSIC_DIR: music,
      EARSHOT_HOST: '127.0.0.1',
      EARSHOT_PORT: '0',
      EARSHOT_LOG_FORMAT: 'json',
    };
    const serve = async (until: string) => {
      const child = spawn(process.execPath, ['--require', probe, CLI_BIN, 'serve'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const exited = new Promise((resolve) => child.on('close', resolve));
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes(until)) resolve();
          });
          child.on('close', (code) => reject(new Error(`serve exited (${code}) before "${until}":\n${out}`)));
        });
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
      return out;
    };
    // The first start makes the server key and prints a setup link; then an account exists.
    expect(await serve('/setup?token=')).toContain('No account exists yet');
    const add = spawnSync(
      process.execPath,
      [CLI_BIN, 'user', 'add', 'admin', '--role', 'admin', '--password', 'a long enough password'],
      {
        env,
        encoding: 'utf8',
      },
    );
    expect(add.status, add.stderr).toBe(0);
    const out = await serve('Earshot is listening');
    expect(out).not.toContain('/setup?token=');
    const loaded = JSON.parse(readFileSync(join(dir, 'loaded.json'), 'utf8')) as {
      modules: string[];
      bindings: boolean;
      sqlite: boolean;
      sqliteJs: string[];
    };
    expect(loaded.modules).toContain('NativeModule http');
    expect(loaded.modules.filter((m) => /^NativeModule (crypto|internal\/crypto\/)/.test(m))).toEqual([]);
    expect(loaded.sqlite).toBe(true);
    expect(loaded.bindings).toBe(false);
    // better-sqlite3's JavaScript is in the bundle (under the code cache), not read from node_modules.
    expect(loaded.sqliteJs).toEqual([]);
  });

  it('sends every import("package") of the bundle through the launcher', () => {
    const code = readFileSync(bundle, 'utf8');
    expect(code).toContain('__earshotImport("@node-rs/argon2")');
    expect(code).not.toMatch(/\bimport\("[^"./]/);
  });
});
