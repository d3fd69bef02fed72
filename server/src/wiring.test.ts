/**
 * Every area is wired the same way (server/src/README.md): a `create<Area>(deps)` factory, routes
 * that reach services only, services that are given their repositories, and one composition root
 * that registers each area's `routes` plugin. Read from the sources, so a new file is covered.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = dirname(fileURLToPath(import.meta.url));
const AREAS = ['accounts', 'catalog', 'library', 'listening', 'sources', 'streaming', 'subsonic', 'system'];

function files(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path, keep);
    return keep(entry.name) ? [path] : [];
  });
}
const read = (path: string) => readFileSync(path, 'utf8');
const name = (path: string) => relative(ROOT, path);
const production = (file: string) => file.endsWith('.ts') && !file.endsWith('.test.ts');

/** Value (not type-only) imports of a source file. */
function valueImports(source: string): string[] {
  return [...source.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);
}

describe('one wiring pattern', () => {
  it('each area has a factory named create<Area> in its module file', () => {
    const missing = AREAS.filter((area) => {
      const file = join(ROOT, area, area === 'accounts' ? 'index.ts' : 'module.ts');
      const factory = `create${area[0].toUpperCase()}${area.slice(1)}`;
      let source = '';
      try {
        source = read(file);
      } catch {
        return true;
      }
      return (
        !new RegExp(`export (async )?function ${factory}\\(`).test(source) || !/routes: FastifyPluginAsync/.test(source)
      );
    });
    expect(missing).toEqual([]);
  });

  it('routes reach services only: no repository, database handle or SQL in a routes file', () => {
    const routes = files(ROOT, (f) => f.endsWith('.routes.ts') || f === 'routes.ts').filter(production);
    expect(routes.length).toBeGreaterThan(15);
    const wrong = routes.flatMap((file) => {
      const source = read(file);
      const bad = valueImports(source).filter((spec) => /repository|database|kysely|better-sqlite3/.test(spec));
      if (/\bselectFrom\(|\binsertInto\(|\bupdateTable\(|\bdeleteFrom\(|\bsql`/.test(source)) bad.push('runs SQL');
      if (/\.repo\.\w+\(/.test(source)) bad.push('reaches a repository');
      return bad.map((b) => `${name(file)}: ${b}`);
    });
    expect(wrong).toEqual([]);
  });

  it('services are given their repositories instead of building them', () => {
    const services = files(ROOT, (f) => f.endsWith('.service.ts')).filter(production);
    expect(services.length).toBeGreaterThan(15);
    const wrong = services.filter((file) => /new [A-Z]\w*Repository\(/.test(read(file))).map(name);
    expect(wrong).toEqual([]);
  });

  it('main.ts registers areas through their routes plugins, not routes files of its own choosing', () => {
    const main = read(join(ROOT, 'main.ts'));
    expect(valueImports(main).filter((spec) => spec.endsWith('.routes.js'))).toEqual([]);
    for (const area of AREAS) {
      const factory = `create${area[0].toUpperCase()}${area.slice(1)}`;
      expect(main, `main.ts calls ${factory}`).toContain(`${factory}(`);
    }
    // Run on the root instance (they only register their access scopes): no context of their own (issue 16).
    expect(main).toMatch(/await area\.routes\(app, \{\}\)/);
  });
});
