#!/usr/bin/env node
/**
 * `npm run openapi`: regenerates the committed API description the web client is typed from.
 *   1. builds the server (tsc),
 *   2. `earshot openapi --out web/src/lib/api/openapi.json` (the app on a temp data dir),
 *   3. openapi-typescript → web/src/lib/api/schema.d.ts.
 * server/src/http/openapi.test.ts fails when the committed openapi.json is stale.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const JSON_OUT = join(ROOT, 'web/src/lib/api/openapi.json');
const TYPES_OUT = join(ROOT, 'web/src/lib/api/schema.d.ts');

function run(cmd, args, { mayFail = false } = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0 && !mayFail) {
    console.error(`✗ ${cmd} ${args[0]} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
  return r.status === 0;
}

// tsc still emits JavaScript when it reports type errors; the document only needs the emitted app.
if (!run('npm', ['run', 'build', '-w', 'server'], { mayFail: true })) {
  if (!existsSync(join(ROOT, 'server/dist/cli/index.js'))) process.exit(1);
  console.warn('! the server build reported type errors (above); generating from the JavaScript it emitted');
}
run(process.execPath, ['server/bin/earshot.js', 'openapi', '--out', JSON_OUT]);
run(process.execPath, [join(ROOT, 'node_modules/openapi-typescript/bin/cli.js'), JSON_OUT, '-o', TYPES_OUT]);
console.log('✓ web/src/lib/api/openapi.json and schema.d.ts are up to date');
