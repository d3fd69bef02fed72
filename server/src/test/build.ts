/**
 * Makes sure `server/dist` is built from the current sources before a test starts the real
 * server binary as a child process (the way users and CI run it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SERVER_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_BIN = join(SERVER_ROOT, 'bin', 'earshot.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

export function ensureServerBuilt(): void {
  const entry = join(SERVER_ROOT, 'dist', 'cli', 'index.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(join(SERVER_ROOT, 'src'))) return;
  try {
    execFileSync(
      process.execPath,
      [join(SERVER_ROOT, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: SERVER_ROOT,
        stdio: 'pipe',
      },
    );
  } catch (err) {
    // tsc still emits JavaScript when another area has a type error; only a missing entry is fatal.
    if (!existsSync(entry)) throw err;
  }
  // The second half of `npm run build -w server`: dependencies inlined (scripts/bundle-deps.mjs).
  execFileSync(process.execPath, [join(SERVER_ROOT, 'scripts', 'bundle-deps.mjs')], {
    cwd: SERVER_ROOT,
    stdio: 'pipe',
  });
  // The third: the CLI as one CommonJS file for the code cache (scripts/bundle-cli.mjs).
  execFileSync(process.execPath, [join(SERVER_ROOT, 'scripts', 'bundle-cli.mjs')], {
    cwd: SERVER_ROOT,
    stdio: 'pipe',
  });
}
