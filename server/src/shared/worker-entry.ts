/**
 * Where a worker thread's code is: the compiled file in dist, or — when Earshot runs from its
 * sources (tests) — the .ts file loaded through tsx. `path` is relative to dist (or src), e.g.
 * 'system/backup-worker'. This file and every bundled chunk (`dist/app/`, scripts/bundle-deps.mjs;
 * the CLI bundle's `import.meta.url` is `dist/app/earshot.cjs`) sit one level under dist, so
 * `../<path>.js` resolves the same from each.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function workerEntry(path: string): { script: URL | string; eval: boolean } {
  const js = new URL(`../${path}.js`, import.meta.url);
  if (existsSync(fileURLToPath(js))) return { script: js, eval: false };
  const ts = new URL(`../${path}.ts`, import.meta.url).href;
  return {
    script: `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(ts)}); })`,
    eval: true,
  };
}
