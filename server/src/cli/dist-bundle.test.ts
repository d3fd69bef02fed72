/**
 * The build's second step (scripts/bundle-deps.mjs) on the real `server/dist` the vitest global
 * setup builds: plain-JS packages come from `dist/vendor/` chunks, native and file-reading ones
 * from node_modules, our files keep their paths, source maps still name `src/*.ts`, and the
 * music-metadata patch (one set of tag-mapping tables for every parse) is applied. The CLI and the
 * worker threads are bundled whole into `dist/app/` chunks (the processes' start-up).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVER_ROOT } from '../test/build.js';

const DIST = join(SERVER_ROOT, 'dist');
const read = (rel: string) => readFileSync(join(DIST, rel), 'utf8');
/** The package specifiers a built file still imports from node_modules. */
const packageImports = (code: string) =>
  [...code.matchAll(/^import[^'"]*["']([^'"./][^'"]*)["']/gm)].map((m) => m[1]).filter((s) => !s.startsWith('node:'));

describe('server/dist after the bundle step', () => {
  it('inlines kysely and typebox, keeps native and file-reading packages external', () => {
    const database = read('db/database.js');
    expect(packageImports(database)).toEqual(['better-sqlite3']);
    expect(database).toMatch(/from ["']\.\.\/vendor\/chunk-[A-Z0-9]+\.js["']/);
    const progress = read('library/scan/progress.js');
    expect(packageImports(progress)).toEqual([]);
    // pino is plain JavaScript (inlined); pino-pretty is required by name, only on a terminal.
    expect(packageImports(read('shared/logger.js'))).not.toContain('pino');
    // Our own imports are left as tsc wrote them, so each file stays where its source is.
    expect(read('main.js')).toMatch(/["']\.\/http\/app\.js["']/);
  });

  it('bundles the CLI and the worker threads whole, with chunks one level under dist', () => {
    for (const entry of [
      'cli/index.js',
      'library/tag-worker.js',
      'catalog/search-worker.js',
      'system/backup-worker.js',
    ]) {
      const code = read(entry);
      // Only chunks of dist/app/ and node_modules packages: none of our files one by one.
      const relative = [...code.matchAll(/(?:from|import)\s*\(?\s*["'](\.[^"']+)["']/g)].map((m) => m[1]);
      expect(relative.length, entry).toBeGreaterThan(0);
      for (const spec of relative) expect(spec, entry).toMatch(/^\.\.\/app\/[\w-]+\.js$/);
    }
    // The packages that must stay in node_modules are still imported from there.
    const chunks = readdirSync(join(DIST, 'app')).filter((f) => f.endsWith('.js'));
    // Minified: every static and dynamic import's specifier, wherever it sits on the line.
    const specifiers = (code: string) =>
      [...code.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]);
    const imported = new Set(chunks.flatMap((f) => specifiers(read(`app/${f}`))));
    expect(imported).toContain('better-sqlite3');
    expect(imported).not.toContain('pino');
    expect(imported).not.toContain('kysely');
    const map = JSON.parse(read('cli/index.js.map')) as { sources: string[] };
    expect(map.sources).toContain('../../src/cli/index.ts');
  });

  it('chains the source maps back to the TypeScript sources', () => {
    const map = JSON.parse(read('library/scan/progress.js.map')) as { sources: string[] };
    expect(map.sources).toContain('../../../src/library/scan/progress.ts');
  });

  it("shares music-metadata's tag-mapping tables between parses", () => {
    const chunks = readdirSync(join(DIST, 'vendor')).filter((f) => f.endsWith('.js'));
    const patched = chunks.filter((f) =>
      /CombinedTagMapper\.earshotShared\s*\?\?=\s*new CombinedTagMapper\b/.test(read(`vendor/${f}`)),
    );
    expect(patched).toHaveLength(1);
    const appChunks = readdirSync(join(DIST, 'app')).filter((f) => f.endsWith('.js'));
    expect(
      appChunks.filter((f) =>
        /CombinedTagMapper\.earshotShared\s*\?\?=\s*new CombinedTagMapper\b/.test(read(`app/${f}`)),
      ),
    ).toHaveLength(1);
  });
});
