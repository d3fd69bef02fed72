#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in ../dist. `npm start` / the bootstrap script builds it.
// CommonJS (bin/package.json), like the launcher it requires (dist/cli/launch.cjs): a process with
// no ES module on its way to the bundle never sets up Node's ES module loader, ~40 ms of start-up.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const dist = join(__dirname, '..', 'dist');
if (!existsSync(join(dist, 'cli', 'index.js'))) {
  console.error(
    'earshot: the server is not built yet. Run `npm start` (or `npm run build`) from the repository root first.',
  );
  process.exit(1);
}
// Node ≥ 22.1 caches compiled ES modules on disk (the worker threads', and the whole CLI's when the
// build has no one-file bundle). Older Node has no such API.
require('node:module').enableCompileCache?.();
// dist/cli/launch.cjs runs the one-file bundle through a V8 code cache (src/cli/launch.ts); a build
// without it has the ES launcher only, and one from before the launcher only dist/cli/index.js.
// A failure ends the process with its error and exit code 1 (an unhandled rejection).
const launcher = join(dist, 'cli', 'launch.cjs');
if (existsSync(launcher)) void require(launcher).launch();
else if (existsSync(join(dist, 'cli', 'launch.js')))
  void import(pathToFileURL(join(dist, 'cli', 'launch.js')).href).then((m) => m.launch());
else void import(pathToFileURL(join(dist, 'cli', 'index.js')).href);
