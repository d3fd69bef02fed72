/**
 * Build step after `tsc`: inlines the plain-JavaScript dependencies into a few shared chunks under
 * `dist/vendor/`.
 *
 * Why: Node 20 has no compile cache, and its module loader spends ~1 ms per module file (resolve,
 * stat, read, parse, link). `earshot scan` loaded ~670 files before its first useful work, 540 of
 * them from kysely and @sinclair/typebox; `earshot serve` ~1,500 (ajv, yaml, jose, prom-client …).
 * Our own files are left where tsc wrote them, each with its own imports (so
 * `import.meta.url`-relative paths — workers, migrations, the web app — keep working and tests can
 * import any `dist/` module); only their imports of packages are resolved into the chunks. Packages
 * that load native addons, read their own files or start workers by path stay in node_modules
 * (EXTERNAL). Source maps are chained: esbuild reads tsc's maps, so stack traces still name
 * `src/*.ts`.
 *
 * Without esbuild (an unusual platform), the tsc output is kept as is: it works, it starts slower.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const VENDOR = 'vendor';
/**
 * Packages left in node_modules: native addons (and their loaders), packages that read their own
 * files or start workers by path (pino's transports, swagger's package.json and UI assets), and
 * those loaded only by rarely used code. Everything else is plain JavaScript and is inlined.
 */
const EXTERNAL = new Set([
  'better-sqlite3',
  'bindings',
  'file-uri-to-path',
  'sharp',
  'detect-libc',
  // pino itself is inlined (its ~25 CommonJS files were ~50 ms of `serve`'s start-up); only its
  // worker-thread transports need files by path (thread-stream's worker, inlined too: it is only
  // read when a transport starts), and Earshot uses none: pretty output on a terminal is
  // pino-pretty as a stream in the process (shared/logger.ts).
  'pino-pretty',
  'pino-abstract-transport',
  'real-require',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  '@fastify/static',
  'youtubei.js',
]);

/**
 * music-metadata builds its tag-mapping tables (eleven mappers, each a case-insensitive map of its
 * format's tag names) for every file it parses: ~190 µs of a tag worker's time per file. The
 * mappers hold nothing but those tables (checked for 11.x: `tagTypes`, `tagMap`), so one set is
 * shared by every parse. If a later version changes the line, the build says so and stays correct.
 */
export const PATCHES = [
  {
    file: /music-metadata[\\/]lib[\\/]common[\\/]MetadataCollector\.js$/,
    from: 'this.tagMapper = new CombinedTagMapper();',
    to: 'this.tagMapper = CombinedTagMapper.earshotShared ??= new CombinedTagMapper();',
  },
  // find-my-way compiles a `new Function` for every static node's prefix, every handler's params
  // object and every constrained node's matcher as each route is added: ~500 functions parsed and
  // compiled at start-up (~15 ms of `serve`'s CPU, issue 16 item 5), never in the code cache, most
  // for routes nobody calls. Each is compiled on its first call instead, from the same text (so
  // the generated code and every answer are the same), and put where the eager one was, so later
  // lookups call it directly. server/src/http/router-patches.test.ts runs patched and unpatched
  // routers side by side.
  {
    file: /find-my-way[\\/]lib[\\/]node\.js$/,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: find-my-way's source text, a template literal in it
    from: "return new Function('path', 'i', `'use strict'\\nreturn ${lines.join(' && ')}`) // eslint-disable-line",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: find-my-way's source text, a template literal in it
    to: "let compiled = null; return function matchPrefixOnFirstUse (path, i) { compiled ??= new Function('path', 'i', `'use strict'\\nreturn ${lines.join(' && ')}`); if (this != null && this.matchPrefix === matchPrefixOnFirstUse) this.matchPrefix = compiled; return compiled(path, i) } // eslint-disable-line",
  },
  {
    // `findRoute` (Fastify's duplicate check as every route is added) walks the tree through
    // `getStaticChild`: the prefix is compared as text there, so adding a route does not compile
    // every matcher on its path (the same answer: the first character was matched by its code).
    file: /find-my-way[\\/]lib[\\/]node\.js$/,
    from: '    const staticChild = this.findStaticMatchingChild(path, pathIndex)\n    if (staticChild) {\n      return staticChild.getStaticChild(',
    to: '    const staticChild = this.findStaticChildAsText(path, pathIndex)\n    if (staticChild) {\n      return staticChild.getStaticChild(',
  },
  {
    file: /find-my-way[\\/]lib[\\/]node\.js$/,
    from: '  getStaticChild (path, pathIndex = 0) {\n',
    to: '  findStaticChildAsText (path, pathIndex) {\n    const charCode = path.charCodeAt(pathIndex)\n    const charCodes = this.staticChildrenCharCodes\n    for (let i = 0; i < charCodes.length; i++) {\n      if (charCodes[i] === charCode) {\n        const staticChild = this.staticChildrenNodes[i]\n        return path.startsWith(staticChild.prefix, pathIndex) ? staticChild : null\n      }\n    }\n    return null\n  }\n\n  getStaticChild (path, pathIndex = 0) {\n',
  },
  {
    file: /find-my-way[\\/]lib[\\/]handler-storage\.js$/,
    from: '_createParamsObject: this._compileCreateParamsObject(params)',
    to: '_createParamsObject: function createParamsOnFirstUse (param0, param1, param2, param3, extraParams) { const compiled = HandlerStorage.prototype._compileCreateParamsObject(params); handlerObject._createParamsObject = compiled; return compiled(param0, param1, param2, param3, extraParams) }',
  },
  {
    file: /find-my-way[\\/]lib[\\/]handler-storage\.js$/,
    from: '  _compileGetHandlerMatchingConstraints (constrainer) {\n',
    to: '  _compileGetHandlerMatchingConstraints (constrainer) {\n    this._getHandlerMatchingConstraints = function matchConstraintsOnFirstUse (derivedConstraints) { this._compileGetHandlerMatchingConstraintsNow(constrainer); return this._getHandlerMatchingConstraints(derivedConstraints) }\n  }\n\n  _compileGetHandlerMatchingConstraintsNow (constrainer) {\n',
  },
];
const packageName = (spec) => spec.split('/', spec.startsWith('@') ? 2 : 1).join('/');
const external = (spec) =>
  spec.startsWith('node:') ||
  builtinModules.includes(spec) ||
  EXTERNAL.has(packageName(spec)) ||
  packageName(spec).startsWith('@img/') ||
  packageName(spec).startsWith('@node-rs/');

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const BANNER =
  "import { createRequire as __earshotRequire } from 'node:module'; const require = __earshotRequire(import.meta.url);";

/**
 * tsc's output files: those with a source file (a stale file of a removed source is left alone),
 * not already processed (this step run twice without tsc in between is a no-op for them).
 */
function jsFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      if (!(dir === DIST && e.name === VENDOR)) out.push(...jsFiles(full));
    } else if (
      e.name.endsWith('.js') &&
      existsSync(join(SRC, relative(DIST, full)).replace(/\.js$/, '.ts')) &&
      !readFileSync(full, 'utf8').startsWith(BANNER)
    )
      out.push(full);
  }
  return out;
}

/** The patches applied to inlined packages (shared by both bundles). */
export function patchPlugin() {
  return {
    name: 'patch-inlined-packages',
    setup(build) {
      // One loader per file (esbuild takes the first loader that answers), applying all its
      // patches or none: a file's patches may lean on each other (find-my-way's duplicate check
      // calls the method another patch adds), so a package update that moves one line leaves the
      // whole file as published rather than half patched.
      for (const source of new Set(PATCHES.map((p) => p.file.source)))
        build.onLoad({ filter: new RegExp(source) }, (args) => {
          const original = readFileSync(args.path, 'utf8');
          const patches = PATCHES.filter((p) => p.file.source === source);
          const missing = patches.find((patch) => !original.includes(patch.from));
          if (missing) {
            console.warn(`bundle-deps: ${args.path} no longer has "${missing.from}"; the file is not patched.`);
            return undefined;
          }
          let code = original;
          for (const patch of patches) code = code.replace(patch.from, () => patch.to);
          return { contents: code, loader: 'js' };
        });
    },
  };
}

/**
 * The processes' entry points, bundled whole (our modules and the plain-JS packages): the CLI
 * (`bin/earshot.js` → `dist/cli/index.js`, every command), and the two worker threads. Node 20's
 * ESM loader costs ~1 ms per file (resolve, stat, read, decode, parse, link): `serve` loaded ~250
 * of our files and ~80 vendor chunks, now ~25 chunks. The entries keep their paths and the chunks
 * sit one level under dist (`dist/app/`), like every area's files, so `import.meta.url`-relative
 * paths (package.json, the web app, `../library/tag-worker.js`) resolve the same from either.
 * Whitespace and syntax are minified (V8 keeps every module's source text in the heap for the
 * life of the process; fewer bytes also decode and parse faster); identifiers are not, so stack
 * traces name our functions, and the source maps lead back to `src/*.ts`.
 *
 * Runs on tsc's pristine output before the per-file step below; that step leaves these entries
 * alone (they start with its banner) and still processes every other file, which tests and
 * tools import one by one (`dist/main.js`, `dist/db/database.js` …).
 */
const APP = 'app';
const APP_ENTRIES = ['cli/index.js', 'library/tag-worker.js', 'catalog/search-worker.js', 'system/backup-worker.js'];

/**
 * The options both bundling passes share: code-split ESM for Node 20 written over tsc's output in
 * `dist`, chunks under `chunkDir`, source maps without sources, the banner that gives inlined
 * CommonJS a require() (Node's own modules), the package patches, and `resolve` deciding what is
 * inlined.
 */
function splitBuild(entryPoints, chunkDir, resolve) {
  return {
    entryPoints,
    outdir: DIST,
    outbase: DIST,
    allowOverwrite: true,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    sourcesContent: false,
    chunkNames: `${chunkDir}/[name]-[hash]`,
    banner: { js: BANNER },
    logLevel: 'warning',
    plugins: [patchPlugin(), resolve],
  };
}

async function bundleApp(esbuild) {
  const entryPoints = APP_ENTRIES.map((rel) => join(DIST, rel)).filter(
    (f) => existsSync(f) && !readFileSync(f, 'utf8').startsWith(BANNER),
  );
  if (entryPoints.length === 0) return;
  rmSync(join(DIST, APP), { recursive: true, force: true });
  await esbuild.build({
    ...splitBuild(entryPoints, APP, {
      name: 'external-packages',
      setup(build) {
        build.onResolve({ filter: /^[^./]/ }, (args) =>
          external(args.path) ? { path: args.path, external: true } : undefined,
        );
      },
    }),
    // Our own code: whitespace and syntax minified (names kept for stack traces).
    minifyWhitespace: true,
    minifySyntax: true,
  });
}

export async function bundleDeps() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    console.warn('bundle-deps: esbuild is not installed; server/dist stays as tsc wrote it (slower start-up).');
    return false;
  }
  await bundleApp(esbuild);
  const entryPoints = jsFiles(DIST);
  if (entryPoints.length === 0) return true;
  rmSync(join(DIST, VENDOR), { recursive: true, force: true });
  const ours = (importer) => importer.startsWith(DIST) && !relative(DIST, importer).startsWith(VENDOR);
  await esbuild.build(
    splitBuild(entryPoints, VENDOR, {
      name: 'inline-only-listed-packages',
      setup(build) {
        build.onResolve({ filter: /.*/ }, (args) => {
          if (args.kind === 'entry-point') return undefined;
          // Our own modules keep their files: the import stays as written.
          if (args.path.startsWith('.') && ours(args.importer)) return { path: args.path, external: true };
          if (args.path.startsWith('.') || args.path.startsWith('/')) return undefined;
          return external(args.path) ? { path: args.path, external: true } : undefined;
        });
      },
    }),
  );
  // The chunks are third-party code: without whitespace they are ~40 % smaller, and V8 keeps every
  // module's source text in the heap for as long as the process runs (lazy compilation). Names are
  // kept, so stack traces still say which function; our own files stay as tsc wrote them.
  const chunks = readdirSync(join(DIST, VENDOR))
    .filter((f) => f.endsWith('.js'))
    .map((f) => join(DIST, VENDOR, f));
  await esbuild.build({
    entryPoints: chunks,
    outdir: join(DIST, VENDOR),
    allowOverwrite: true,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'warning',
  });
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) await bundleDeps();
