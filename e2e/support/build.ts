/**
 * Builds what the browser tests run against when it is missing or older than its sources:
 * server/dist (tsc) and web/dist (vite). Called from the e2e global setup, once per run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureServerBuilt } from '../../server/src/test/build.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB = join(ROOT, 'web');

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = 0;
  for (const entry of readdirSync(path))
    if (entry !== 'node_modules' && entry !== 'dist') max = Math.max(max, newest(join(path, entry)));
  return max;
}

export function ensureWebBuilt(): void {
  const index = join(WEB, 'dist', 'index.html');
  const sources = Math.max(
    newest(join(WEB, 'src')),
    newest(join(WEB, 'public')),
    newest(join(WEB, 'build')),
    newest(join(WEB, 'index.html')),
    newest(join(WEB, 'vite.config.ts')),
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  // vitest sets NODE_ENV=test, which would give a development build (no service worker, Svelte dev checks).
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], {
    cwd: WEB,
    stdio: 'pipe',
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

/**
 * Scratch directories live under e2e/artifacts/tmp (git-ignored) rather than the shared /tmp, so
 * nothing else on the machine can clean them away mid-run.
 */
export function scratchDir(prefix: string): string {
  const base = join(ROOT, 'e2e', 'artifacts', 'tmp');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, prefix));
}

export function ensureBuilt(): void {
  ensureServerBuilt();
  ensureWebBuilt();
}
