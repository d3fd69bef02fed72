/**
 * `earshot openapi [--out FILE]`: builds the whole app on a throwaway data dir (no background
 * work, no network) and prints or writes the OpenAPI document the web client is generated from.
 * `npm run openapi` (scripts/openapi.mjs) uses it to refresh web/src/lib/api/openapi.json and
 * schema.d.ts; server/src/http/openapi.test.ts fails when the committed copy is stale.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../config/load.js';
import { createEarshot } from '../../main.js';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import type { CliCommand } from '../command.js';

/** The document as the app serves it, with keys in a stable order and a trailing newline. */
export async function generateOpenApiDocument(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-openapi-'));
  try {
    const { config } = loadConfig({
      env: {
        EARSHOT_DATA_DIR: dir,
        EARSHOT_LOG_LEVEL: 'silent',
        EARSHOT_PORT: '0',
        EARSHOT_SCAN_ON_START: 'false',
        EARSHOT_WATCH: 'false',
        EARSHOT_FULL_SCAN_INTERVAL_MINUTES: '0',
      },
      argv: [],
      envFile: null,
      cwd: dir,
    });
    const earshot = await createEarshot(config, { logger: pino({ level: 'silent' }), background: false });
    try {
      await earshot.app.ready();
      const res = await earshot.app.inject({ url: '/api/v1/openapi.json' });
      if (res.statusCode !== 200) throw new Error(`GET /api/v1/openapi.json answered ${res.statusCode}`);
      return `${JSON.stringify(JSON.parse(res.body), null, 2)}\n`;
    } finally {
      await earshot.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const openapiCommand: CliCommand = {
  name: 'openapi',
  summary: 'Print (or write with --out FILE) the OpenAPI document of the native API.',
  usage: 'earshot openapi [--out FILE]',
  async run(argv) {
    const i = argv.indexOf('--out');
    const out = i >= 0 ? argv[i + 1] : undefined;
    if (i >= 0 && !out) {
      console.error('--out needs a file name');
      return 64;
    }
    const doc = await generateOpenApiDocument();
    if (out) {
      await writeFileAtomic(out, doc);
      console.error(`wrote ${out} (${doc.length} bytes)`);
    } else process.stdout.write(doc);
    return 0;
  },
};
