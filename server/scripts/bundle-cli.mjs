/**
 * Build step after `bundle-deps.mjs`: the whole CLI (every command, our code and the inlined
 * packages) as ONE CommonJS file, `dist/app/earshot.cjs`, that `dist/cli/launch.js` compiles with a
 * V8 code cache.
 *
 * Why: Node 20 has no compile cache for ES modules (`module.enableCompileCache` is Node ≥ 22.1)
 * and V8 compiling the ~2 MB of JavaScript `serve` loads was a third of its start-up CPU. A
 * classic script can be compiled with `vm.Script`'s `cachedData`: the bytecode of every function
 * the previous start ran is read back instead of being parsed and compiled again. ES modules
 * cannot (`vm.SourceTextModule` needs `--experimental-vm-modules`), hence CommonJS; esbuild has no
 * code splitting for CommonJS, so the commands' lazy `import()`s become lazy `require`s of code in
 * the same file (only what runs is compiled; the rest is a source range).
 *
 * Input: `dist/cli/index.js` as bundle-deps left it (ESM entry + `dist/app/` chunks, patches
 * applied, source maps chained to `src/*.ts`). `import.meta.url` becomes the bundle's own file URL:
 * the bundle sits one level under dist like the chunks did, so `../library/tag-worker.js`, the web
 * build and package.json resolve the same. Packages left external stay `require`d or `import()`ed
 * from node_modules. The first line carries the content hash the code cache is keyed by.
 *
 * Without esbuild the file is not written and the launcher imports `dist/cli/index.js` as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const OUT = join(DIST, 'app', 'earshot.cjs');
/** Must match `BUNDLE_HEADER` in src/cli/launch.ts. */
const HEADER = '// earshot-bundle ';
/**
 * Node's CommonJS module wrapper, written into the file (must match `BUNDLE_WRAPPER` in
 * src/cli/launch.ts): the launcher then compiles the text it read as it is, one string outside V8's
 * heap, instead of a wrapped copy that V8 flattens onto its heap.
 */
const WRAPPER = '(function (exports, require, module, __filename, __dirname) { ';
/**
 * `import()` of a package, given by the launcher (`module.importPackage`, defined in an ES module):
 * Node 20 loses a `vm.Script`'s dynamic-import callback when the script comes from a code cache
 * (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING on every start after the first), so the bundle's own
 * `import("pkg")` calls go through this function instead. Loaded by plain `require`, the bundle
 * imports directly.
 */
const PRELUDE = `"use strict";var __earshotImportMetaUrl=require('node:url').pathToFileURL(__filename).href;var __earshotImport=module.importPackage||(s=>import(s));`;
/** esbuild's spelling of a dynamic import of an external package: `import("name")`. */
const PACKAGE_IMPORT = /\bimport\("((?:@[\w.-]+\/)?[\w.-]+(?:\/[\w.-]+)*)"\)/g;
/**
 * Node's own modules that `serve` loads only to have them at hand (ESM imports are hoisted to the
 * top of every chunk; Fastify requires http2 and https for servers we never create): each costs
 * 2–10 ms of CPU at start-up. Their plain `require("node:x")` (an ES import's namespace, or a
 * package's `__require`) becomes `__earshotLazy("node:x")`: an object that loads the module on its
 * first property access. `__toESM(require(…))` (a default import copies every property at once)
 * and destructuring requires stay as they are; they load at once, as before.
 */
const LAZY_BUILTINS = [
  'child_process',
  'http2',
  'https',
  'tls',
  'zlib',
  'dns',
  'dns/promises',
  'perf_hooks',
  // Imported at the top of ~17 modules, called by none of them before "listening"; with the
  // CommonJS launcher nothing else loads it at start-up (the ES module loader did).
  'fs/promises',
  // Imported at the top of ~18 modules (ids, tokens, hashes) and called by none of them before
  // "listening" once the launcher names its code cache without it: ~15 ms (issue 16 item 5, boot7).
  'crypto',
];
const BUILTIN_REQUIRE = new RegExp(
  `(?<![\\w$.]|__toESM\\()(?:__require|require)\\("((?:node:)?(?:${LAZY_BUILTINS.join('|')}))"\\)`,
  'g',
);
const LAZY_PRELUDE =
  'var __earshotLazy=(id,m)=>{let load=()=>m??=require(id);return new Proxy({},{get:(_,k)=>load()[k],set:(_,k,v)=>(load()[k]=v,!0),has:(_,k)=>k in load(),ownKeys:()=>Reflect.ownKeys(load()),getOwnPropertyDescriptor:(_,k)=>{let d=Reflect.getOwnPropertyDescriptor(load(),k);return d&&{...d,configurable:!0}}})};';

/**
 * Packages the ES chunks leave in node_modules (bundle-deps.mjs `EXTERNAL`) whose JavaScript the
 * one-file bundle takes in, so it is compiled through the code cache instead of resolved, read and
 * compiled from source file by file at every start. better-sqlite3: 12 files before the database
 * opens (~5–10 ms of `serve`'s and `scan`'s start-up, issue 16 item 5); its addon is still loaded
 * from node_modules, by the path `db/database.ts` gives it (`nativeBinding`), and the `bindings`
 * search it would fall back to stays external.
 */
const INLINE = new Set(['better-sqlite3']);
/**
 * better-sqlite3 opened without `nativeBinding` (the doctor, backups, in-memory search folding)
 * finds its addon with the `bindings` package, which starts its search at its caller's package:
 * inlined, that is the bundle's (`server/`), where there is no addon. The bundle names the
 * package's own folder, where the search would have started from node_modules.
 */
const BINDINGS_CALL = 'require("bindings")("better_sqlite3.node")';
const BINDINGS_ROOTED =
  'require("bindings")({bindings:"better_sqlite3.node",module_root:require("node:path").dirname(require.resolve("better-sqlite3/package.json"))})';

/**
 * Every character above 0x7F as a `\\uXXXX` escape (esbuild's `charset: 'ascii'` leaves a few in
 * regular expressions and legal comments): the launcher reads the bundle as Latin-1, which is
 * cheaper than decoding UTF-8 (~15 ms for 2.8 MB) and right only for pure ASCII. The escape means
 * the same character in a string, a template, a regular expression (with or without `u`; a
 * character outside the BMP becomes its surrogate pair) and an identifier, and is inert in a comment.
 */
export function asciiOnly(code) {
  return code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export async function bundleCli() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return false;
  }
  const entry = join(DIST, 'cli', 'index.js');
  rmSync(OUT, { force: true });
  rmSync(`${OUT}.map`, { force: true });
  if (!existsSync(entry)) return false;
  await esbuild.build({
    entryPoints: [entry],
    outfile: OUT,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    // ASCII only: V8 keeps the source text in the heap for lazy compilation, one byte a character.
    charset: 'ascii',
    sourcemap: true,
    sourcesContent: false,
    define: { 'import.meta.url': '__earshotImportMetaUrl' },
    logLevel: 'warning',
    plugins: [
      {
        // Every package import left in the ESM chunks is external there too (native addons,
        // packages that read their own files): keep it so, except INLINE.
        name: 'keep-externals',
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, (args) =>
            INLINE.has(args.path) ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  let imports = 0;
  let lazy = 0;
  const built = readFileSync(OUT, 'utf8');
  if (built.split(BINDINGS_CALL).length !== 2)
    throw new Error(`bundle-cli: better-sqlite3's \`${BINDINGS_CALL}\` not found once in the bundle`);
  const code = asciiOnly(
    built
      .replace(BINDINGS_CALL, BINDINGS_ROOTED)
      .replace(PACKAGE_IMPORT, (_, name) => {
        imports++;
        return `__earshotImport(${JSON.stringify(name)})`;
      })
      .replace(BUILTIN_REQUIRE, (_, id) => {
        lazy++;
        return `__earshotLazy(${JSON.stringify(id.startsWith('node:') ? id : `node:${id}`)})`;
      }),
  );
  if (lazy === 0) throw new Error('bundle-cli: no require of a built-in module found to load lazily');
  // Our lazy packages (argon2, sharp, youtubei.js…): none found means esbuild spelled them
  // differently and the rewrite above silently stopped working.
  if (imports === 0) throw new Error('bundle-cli: no import("package") found to route through the launcher');
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  // ES modules are strict: so is the bundle ("use strict" first in the module wrapper's body; a
  // statement before it would make it a no-op).
  writeFileSync(OUT, `${HEADER}${hash}\n${WRAPPER}${PRELUDE}${LAZY_PRELUDE}\n${code}\n});\n`);
  // Two lines were added at the top: the map says so with two empty lines.
  const map = JSON.parse(readFileSync(`${OUT}.map`, 'utf8'));
  map.mappings = `;;${map.mappings}`;
  writeFileSync(`${OUT}.map`, JSON.stringify(map));
  await bundleLauncher(esbuild);
  return true;
}

/**
 * `dist/cli/launch.cjs`: the launcher (src/cli/launch.ts) as CommonJS, which `bin/earshot.js` (also
 * CommonJS) requires. A process whose entry and preloads are all CommonJS never sets up Node's ES
 * module loader: its translators, the `fs/promises` it reads sources with, and the ES facades of
 * `node:fs`, `node:crypto` … that an ES `import` of a built-in builds (every export read, so `fs`'s
 * lazy `promises` and streams load too) — ~40 ms of `serve`'s start-up CPU (issue 16 item 5).
 */
async function bundleLauncher(esbuild) {
  const out = join(DIST, 'cli', 'launch.cjs');
  await esbuild.build({
    entryPoints: [join(DIST, 'cli', 'launch.js')],
    outfile: out,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    sourcesContent: false,
    define: { 'import.meta.url': '__launchUrl' },
    banner: { js: '"use strict";var __launchUrl=require("node:url").pathToFileURL(__filename).href;' },
    logLevel: 'warning',
    plugins: [
      {
        // The fallback without a bundle imports the ES CLI; packages stay in node_modules.
        name: 'launcher-externals',
        setup(build) {
          build.onResolve({ filter: /^\.\/index\.js$|^[^./]/ }, (args) =>
            args.kind === 'entry-point' ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleCli();
