#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in ../dist. `npm start` / the bootstrap script builds it.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('../dist/cli/index.js', import.meta.url));
if (!existsSync(entry)) {
  console.error(
    'earshot: the server is not built yet. Run `npm start` (or `npm run build`) from the repository root first.',
  );
  process.exit(1);
}
// Node ≥ 22.1 caches compiled ES modules on disk (the worker threads', and the whole CLI's when the
// build has no one-file bundle). Older Node has no such API.
module.enableCompileCache?.();
// dist/cli/launch.js runs the one-file bundle through a V8 code cache (src/cli/launch.ts), or
// imports dist/cli/index.js; a build from before launch.js existed has only the latter.
const launcher = fileURLToPath(new URL('../dist/cli/launch.js', import.meta.url));
if (existsSync(launcher)) await (await import(pathToFileURL(launcher).href)).launch();
else await import(pathToFileURL(entry).href);
