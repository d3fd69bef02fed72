/**
 * Areas depend on each other in one direction only (issue 14): an import cycle between two area
 * folders of server/src (catalog → listening → catalog, say) means neither can be understood,
 * tested or replaced alone. This reads every production source file's imports — type-only ones
 * included, they couple the areas just the same — and fails on any cycle between folders.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = dirname(fileURLToPath(import.meta.url));
/** The shared test harness imports the whole server on purpose; it is not an area. */
const NOT_AREAS = new Set(['test']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The folder directly under server/src a file belongs to; files at the top are the composition root. */
function areaOf(path: string): string {
  const parts = relative(ROOT, path).split('/');
  return parts.length === 1 ? '(root)' : parts[0];
}

/** Relative module specifiers of static, type-only, re-export and dynamic imports. */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/\b(?:import|export)\s[^'";]*?\bfrom\s*['"](\.[^'"]+)['"]/g)) found.push(m[1]);
  for (const m of source.matchAll(/\bimport\s*\(\s*['"](\.[^'"]+)['"]\s*\)/g)) found.push(m[1]);
  for (const m of source.matchAll(/^\s*import\s*['"](\.[^'"]+)['"]/gm)) found.push(m[1]);
  return found;
}

function areaGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(ROOT)) {
    const from = areaOf(file);
    if (NOT_AREAS.has(from)) continue;
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const to = areaOf(resolve(dirname(file), spec));
      if (to === from || NOT_AREAS.has(to)) continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      // One example import per edge, for the failure message.
      if (!edges.has(to)) edges.set(to, `${relative(ROOT, file)} imports ${spec}`);
      graph.set(from, edges);
    }
  }
  return graph;
}

/** Every cycle's strongly connected component (Tarjan), with the imports that close it. */
function cycles(graph: Map<string, Map<string, string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) {
        const members = new Set(component);
        found.push(
          component.flatMap((a) =>
            [...(graph.get(a) ?? [])].filter(([b]) => members.has(b)).map(([b, why]) => `${a} → ${b}: ${why}`),
          ),
        );
      }
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('imports between the areas of server/src', () => {
  it('finds imports of every kind', () => {
    const source = [
      "import { a } from '../catalog/a.js';",
      "import type { B } from '../listening/b.js';",
      "export { c } from './c.js';",
      "const d = await import('../system/d.js');",
      "import {\n  e,\n  f,\n} from '../streaming/e.js';",
    ].join('\n');
    expect(importsOf(source)).toEqual([
      '../catalog/a.js',
      '../listening/b.js',
      './c.js',
      '../streaming/e.js',
      '../system/d.js',
    ]);
  });

  it('sees the areas and the edges between them', () => {
    const graph = areaGraph();
    // The composition root reaches every area; if it seems not to, the scan is broken, not clean.
    for (const area of ['accounts', 'catalog', 'library', 'listening', 'sources', 'streaming', 'subsonic', 'system'])
      expect(graph.get('(root)')?.has(area), `main.ts → ${area}`).toBe(true);
    expect(
      cycles(
        new Map([
          ['a', new Map([['b', 'x']])],
          ['b', new Map([['a', 'y']])],
        ]),
      ),
    ).toEqual([['b → a: y', 'a → b: x']]);
  });

  it('has no cycle between area folders', () => {
    expect(cycles(areaGraph())).toEqual([]);
  });
});
