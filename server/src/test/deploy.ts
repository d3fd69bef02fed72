/** Helpers for the tests of the deploy/ artifacts (repository paths, optional tools). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEPLOY = join(REPO_ROOT, 'deploy');
/** `../shared` as CI lays it out (read-only specs). */
export const SHARED = join(REPO_ROOT, '..', 'shared');

/** True when `bin` runs; otherwise prints why the dependent check is skipped (bootstrap installs it). */
export function haveTool(bin: string, pkg: string): boolean {
  const ok = spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0 || existsSync(bin);
  if (!ok) console.warn(`SKIPPED: ${bin} is not installed (Debian package ${pkg}; \`npm test\` installs it).`);
  return ok;
}
