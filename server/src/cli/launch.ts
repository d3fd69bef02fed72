/**
 * Process entry of the CLI (`bin/earshot.js` requires its CommonJS copy `launch.cjs`, made by
 * scripts/bundle-cli.mjs, so a start never sets up Node's ES module loader): runs the one-file CommonJS bundle
 * `dist/app/earshot.cjs` (scripts/bundle-cli.mjs) through a V8 code cache, or, when there is no
 * bundle (a build without esbuild, tests importing sources), imports `./index.js` as before.
 *
 * Node 20 compiles every ES module from source at each start; V8 compiling the ~2 MB `serve` loads
 * was a third of its start-up CPU. `vm.Script` takes the bytecode a previous start produced
 * (`cachedData`): functions that ran then are deserialized instead of parsed and compiled, and
 * V8 checks the data against its version, its flags and the source length (a mismatch is
 * "rejected" and the source is compiled as usual). The cache file is keyed by the bundle's content
 * hash (first line of the bundle), Node's version and architecture and the process's flags, so a
 * rebuilt bundle or a start with other V8 flags (the launcher's `--max-semi-space-size`) reads its
 * own file. A start without a usable cache writes one: 10 s after start (a server has listened and
 * run its first requests by then) or at exit, whichever comes first, atomically (parallel
 * processes). It lives in `$EARSHOT_DATA_DIR/cache/` when that variable is set (containers: the
 * install is read-only, the data volume is not), else next to the bundle; if neither is writable
 * the process runs without one. Caches of older bundles in that folder are removed.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import vm from 'node:vm';

/** The bundle's first line: this, then its content hash. Written by scripts/bundle-cli.mjs. */
export const BUNDLE_HEADER = '// earshot-bundle ';
/**
 * How the bundle's second line starts: Node's CommonJS module wrapper, written by the build so the
 * launcher compiles the file's text as it was read. `Module.wrap(source)` would make a new string
 * (wrapper + source), which V8 flattens into a 2.8 MB copy on its heap the first time it compiles a
 * function lazily; the text read as Latin-1 is an external string, outside V8's heap, and stays the
 * only copy. Bundles without it (tests, older builds) are wrapped here.
 */
export const BUNDLE_WRAPPER = '(function (exports, require, module, __filename, __dirname) { ';
const SUFFIX = '.v8cache';
/** Long enough for `serve` to listen and answer its first requests; short-lived commands write at exit. */
const WRITE_AFTER_MS = 10_000;

export interface CacheFile {
  dir: string;
  name: string;
}

/**
 * Where the cache is read from and written to, in order of preference: the cache folder's `code/`
 * when the environment names it (EARSHOT_CACHE_DIR, or EARSHOT_DATA_DIR's `cache/`), then the
 * bundle's own folder. (Settings given as flags or in a .env file are read by the bundle, after it
 * is compiled; with those the cache stays next to the bundle.)
 */
export function cacheDirs(bundleDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const cache = env.EARSHOT_CACHE_DIR || (env.EARSHOT_DATA_DIR ? join(env.EARSHOT_DATA_DIR, 'cache') : '');
  return cache ? [join(cache, 'code'), bundleDir] : [bundleDir];
}

/**
 * The command a CLI argument list runs, as `cli/index.ts` reads it (no command or a flag first:
 * `serve`), or undefined for help and version, which run too little to be worth a cache.
 */
export function commandOf(argv: readonly string[]): string | undefined {
  const first = argv[0];
  if (first && ['--help', '-h', 'help', '--version', '-v'].includes(first)) return undefined;
  return !first || first.startsWith('-') ? 'serve' : first;
}

/**
 * The cache file's name: one per bundle, command, Node build and set of flags (V8 rejects data
 * made under other flags; each command runs its own code, and `scan` as plain node and `serve`
 * through the launcher must not overwrite each other's).
 */
export function cacheName(bundleHash: string, command: string, flags: readonly string[] = currentFlags()): string {
  const key = keyHash([command, process.version, process.arch, ...flags].join('\0'));
  return `earshot-${bundleHash}-${key}${SUFFIX}`;
}

/**
 * 12 hex digits naming a set of settings: two 32-bit FNV-1a hashes (different offset bases) of the
 * text. Not `node:crypto`: loading it cost the launcher ~15–19 ms of a start, and the bundle itself
 * loads it on first use, after "listening" (bench/README.md, "boot7"). The name only tells sets
 * of settings apart; V8 checks the data it reads against its own version and flags.
 */
export function keyHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  return ((a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0')).slice(0, 12);
}

function currentFlags(): string[] {
  return [...process.execArgv, process.env.NODE_OPTIONS ?? ''];
}

/**
 * The whole file, read into `into` when it fits (else into a new buffer): the part of the buffer
 * it fills.
 */
export function readWhole(file: string, into?: Buffer): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = into && into.length >= size ? into.subarray(0, size) : Buffer.allocUnsafeSlow(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buf, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buf.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/**
 * The cache file, read into `into` (the bundle's file buffer, no longer needed once its text is
 * made) when it fits. A fresh 2 MB buffer costs its first touch of every page, and on a VM that is
 * ~5–20 µs a 4 KB page (bench/README.md, "boot9"); the bundle's buffer was touched moments ago.
 */
function readCache(dirs: string[], name: string, into: Buffer): Buffer | undefined {
  for (const dir of dirs) {
    try {
      return readWhole(join(dir, name), into);
    } catch {
      // Not there (or unreadable): try the next folder, or compile from source.
    }
  }
  return undefined;
}

/**
 * Writes atomically into the first folder that takes it; drops older bundles' caches there. Never
 * throws (it runs in an exit handler): a cache that cannot be written is simply not there next time.
 */
function writeCache(dirs: string[], name: string, data: Buffer): CacheFile | undefined {
  const bundlePart = name.split('-').slice(0, 2).join('-');
  for (const dir of dirs) {
    const tmp = join(dir, `.${name}.${process.pid}.tmp`);
    try {
      // The cache is code the next start runs: only this user may write it (or read it). The
      // folders above it keep the usual modes (the cache folder holds artwork and transcodes).
      mkdirSync(dirname(dir), { recursive: true });
      if (!existsSync(dir)) mkdirSync(dir, { mode: 0o700 });
      writeFileSync(tmp, data, { mode: 0o600 });
      renameSync(tmp, join(dir, name));
    } catch {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // The folder itself is not there or not writable.
      }
      continue;
    }
    try {
      for (const f of readdirSync(dir))
        if (f.startsWith('earshot-') && f.endsWith(SUFFIX) && !f.startsWith(`${bundlePart}-`))
          rmSync(join(dir, f), { force: true });
    } catch {
      // Another process removed it first.
    }
    return { dir, name };
  }
  return undefined;
}

export type CacheState = 'used' | 'absent' | 'rejected' | 'unkeyed';

export interface BundleRun {
  /** 'used': V8 took the cached code; 'absent'/'rejected': compiled from source, a cache is due. */
  state: CacheState;
  /** Writes the cache now if one is due (otherwise done 10 s after start or at exit). */
  saveCache(): CacheFile | undefined;
}

/**
 * Compiles and runs the CommonJS bundle `file` like Node's loader would (module wrapper, its own
 * `require`, dynamic `import()` through the default loader), with the code cache when there is one.
 */
export function runBundle(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv.slice(2),
): BundleRun {
  // Latin-1, not UTF-8: the bundle is pure ASCII (bundle-cli.mjs escapes the rest), where both
  // read the same text, and Latin-1 skips UTF-8 decoding (~15 ms of start-up for 2.8 MB).
  const bytes = readWhole(file);
  const source = bytes.toString('latin1');
  const firstLine = source.slice(0, source.indexOf('\n'));
  const hash = firstLine.startsWith(BUNDLE_HEADER) ? firstLine.slice(BUNDLE_HEADER.length).trim() : '';
  const dirs = cacheDirs(dirname(file), env);
  const command = commandOf(argv);
  const name = hash && command ? cacheName(hash, command) : '';
  // V8 reads the cached data only while it compiles (below), and the source text is a copy: the
  // bundle's buffer can take the cache's bytes.
  const cachedData = name ? readCache(dirs, name, bytes) : undefined;
  // V8 stamps cached data with a hash of its flags, and shared/heap.ts turns `--expose-gc` on at
  // run time (after a scan): data written after that would be rejected by every next start, which
  // would then write it again. Turning it on before compiling keeps one set of flags throughout.
  setFlagsFromString('--expose-gc');
  const wrapped = source.startsWith(BUNDLE_WRAPPER, firstLine.length + 1) ? source : Module.wrap(source);
  const script = new vm.Script(wrapped, {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const state: CacheState = !name
    ? 'unkeyed'
    : !cachedData
      ? 'absent'
      : script.cachedDataRejected
        ? 'rejected'
        : 'used';
  let due = state === 'absent' || state === 'rejected';
  let timer: NodeJS.Timeout | undefined;
  const saveCache = (): CacheFile | undefined => {
    if (!due) return undefined;
    due = false;
    clearTimeout(timer);
    process.off('exit', saveCache);
    return writeCache(dirs, name, script.createCachedData());
  };
  if (due) {
    timer = setTimeout(saveCache, WRITE_AFTER_MS);
    timer.unref();
    process.once('exit', saveCache);
  }
  const wrapper = script.runInThisContext() as (...args: unknown[]) => unknown;
  const mod = new Module(file) as Module & { importPackage?: (specifier: string) => Promise<unknown> };
  mod.filename = file;
  // The bundle's `import("pkg")` calls come here (bundle-cli.mjs): an `import()` compiled from the
  // code cache has lost its callback on Node 20 and would throw ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING.
  mod.importPackage = (specifier) => import(specifier);
  wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  return { state, saveCache };
}

/** The bundle next to this file's folder (`dist/cli/launch.js` → `dist/app/earshot.cjs`). */
export const BUNDLE = fileURLToPath(new URL('../app/earshot.cjs', import.meta.url));

export async function launch(): Promise<void> {
  if (existsSync(BUNDLE)) runBundle(BUNDLE);
  else await import('./index.js');
}

// Run directly (`node dist/cli/launch.cjs serve`, as the benches do): the same as bin/earshot.js.
// Not a top-level await: the build also makes a CommonJS copy of this file (launch.cjs), and a
// rejected promise ends the process with its error and exit code 1 as a rejected await would.
if (process.argv[1] === fileURLToPath(import.meta.url)) void launch();
