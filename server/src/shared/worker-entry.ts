/**
 * Where a worker thread's code is: the compiled file in dist, or — when Earshot runs from its
 * sources (tests) — the .ts file loaded through tsx. `path` is relative to dist (or src), e.g.
 * 'system/backup-worker'. This file and every bundled chunk (`dist/app/`, scripts/bundle-deps.mjs;
 * the CLI bundle's `import.meta.url` is `dist/app/earshot.cjs`) sit one level under dist, so
 * `../<path>.js` resolves the same from each.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface WorkerEntry {
  script: URL | string;
  eval: boolean;
  /**
   * The worker's `execArgv` (`new Worker(…, { execArgv })`): for the compiled worker only the
   * parent's diagnostics flags, for the sources all of them (see {@link workerExecArgv}).
   */
  execArgv: string[];
}

export function workerEntry(path: string): WorkerEntry {
  const js = new URL(`../${path}.js`, import.meta.url);
  if (existsSync(fileURLToPath(js))) return { script: js, eval: false, execArgv: workerExecArgv(process.execArgv) };
  // Sources only: register tsx's loader inside the worker thread, then load the TypeScript entry.
  const ts = new URL(`../${path}.ts`, import.meta.url).href;
  return {
    script: `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(ts)}); })`,
    eval: true,
    execArgv: process.execArgv,
  };
}

/**
 * The compiled worker needs no TypeScript loader: a parent started with `--import tsx` (bench,
 * dev) would otherwise route every module the worker loads through the loader's hooks thread.
 * Only diagnostics flags are passed on (a worker refuses process-wide ones such as --expose-gc),
 * so `node --cpu-prof` profiles the workers too.
 */
export function workerExecArgv(argv: string[]): string[] {
  return argv.filter((a) => /^--(cpu-prof|heap-prof|enable-source-maps|stack-trace-limit)/.test(a));
}
