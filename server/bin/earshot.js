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
// Node ≥ 22.1 caches compiled code on disk (~800 module files for `serve`): later starts skip
// parsing and compiling them. Older Node has no such API; it then starts as before.
module.enableCompileCache?.();
await import(pathToFileURL(entry).href);
