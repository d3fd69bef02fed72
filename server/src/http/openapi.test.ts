/**
 * The web client is generated from web/src/lib/api/openapi.json. This fails when a route changed
 * without regenerating it, so the committed client never drifts from the server.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateOpenApiDocument } from '../cli/commands/openapi.js';

const COMMITTED = fileURLToPath(new URL('../../../web/src/lib/api/openapi.json', import.meta.url));

describe('committed OpenAPI document', () => {
  it('matches what the app generates (run `npm run openapi` when this fails)', async () => {
    const generated = await generateOpenApiDocument();
    expect(existsSync(COMMITTED), 'web/src/lib/api/openapi.json is missing: run `npm run openapi`').toBe(true);
    const committed = readFileSync(COMMITTED, 'utf8');
    const same = JSON.stringify(JSON.parse(committed)) === JSON.stringify(JSON.parse(generated));
    expect(same, 'web/src/lib/api/openapi.json is stale: run `npm run openapi` and commit the result').toBe(true);
    expect(JSON.parse(generated).openapi).toBe('3.1.0');
  });
});
