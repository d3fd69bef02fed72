/**
 * The build's find-my-way patches (server/scripts/bundle-deps.mjs `PATCHES`): the bundled router
 * compiles each static node's prefix matcher, each handler's params object and each constrained
 * node's matcher on first use instead of when the route is added (start-up, issue 16 item 5).
 * Here find-my-way is bundled with the build's own patch plugin and run beside the package as
 * installed, on the same routes and requests: every lookup must answer the same, and the matchers
 * must still be uncompiled after the routes are added (the point of the patches).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { SERVER_ROOT } from '../test/build.js';

interface Found {
  handler: unknown;
  params: Record<string, string | undefined>;
  store: unknown;
}
interface FmwNode {
  matchPrefix: ((path: string, i: number) => boolean) | null;
  staticChildrenNodes: FmwNode[];
  parametricChildren: FmwNode[];
  wildcardChild: FmwNode | null;
  handlerStorage: { handlers: Array<{ _createParamsObject: () => unknown }> } | null;
}
interface Router {
  on(method: string | string[], path: string, opts: object, handler: () => void, store?: unknown): void;
  find(method: string, path: string, constraints?: Record<string, string>): Found | null;
  findRoute(method: string, path: string, constraints?: object): { store: unknown } | null;
  trees: Record<string, FmwNode>;
}
type RouterFactory = (options?: object) => Router;

const require = createRequire(import.meta.url);
const installed = require('find-my-way') as RouterFactory;
let patched: RouterFactory;
let bundled = '';

beforeAll(async () => {
  const script = join(SERVER_ROOT, 'scripts', 'bundle-deps.mjs');
  const { patchPlugin } = (await import(script)) as { patchPlugin: () => import('esbuild').Plugin };
  const out = await build({
    entryPoints: [require.resolve('find-my-way')],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    write: false,
    logLevel: 'silent',
    plugins: [patchPlugin()],
  });
  bundled = out.outputFiles[0].text;
  const mod = { exports: {} as unknown };
  new Function('module', 'exports', 'require', bundled)(mod, mod.exports, require);
  patched = mod.exports as RouterFactory;
});

/** Routes like the API's: shared prefixes that split nodes, parameters (more than four too), wildcards, constraints. */
const routes: Array<[string, string, object?]> = [
  ['GET', '/api/v1/albums'],
  ['GET', '/api/v1/albums/:id'],
  ['GET', '/api/v1/albums/:id/tracks'],
  ['GET', '/api/v1/artists'],
  ['GET', '/api/v1/artists/:id'],
  ['GET', '/api/v1/artwork/:kind/:id/:size'],
  ['POST', '/api/v1/playlists'],
  ['PUT', '/api/v1/playlists/:id/tracks/:position'],
  ['DELETE', '/api/v1/playlists/:id'],
  ['GET', '/api/v1/search/local'],
  ['GET', '/api/v1/search/remote'],
  ['GET', '/api/v1/a/:p1/:p2/:p3/:p4/:p5/:p6'],
  ['GET', '/api/v1/files/*'],
  ['GET', '/rest/:method'],
  ['GET', '/s/:token'],
  ['GET', '/api/v1/versioned', { constraints: { version: '1.2.0' } }],
  ['GET', '/api/v1/versioned', { constraints: { version: '2.0.0' } }],
  ['GET', '/api/v1/hosted', { constraints: { host: 'music.example.org' } }],
  ['GET', '/api/v1/hosted'],
  ['GET', '/api/v1/a-very-long-static-prefix-for-index-of/x'],
];
const constraintsOf = (opts?: object) => (opts as { constraints?: object } | undefined)?.constraints;

/** As Fastify adds a route: first `findRoute` (its duplicate check), then `on`. */
function addRoutes(router: Router): void {
  for (const [method, path, opts] of routes) {
    router.findRoute(method, path, constraintsOf(opts));
    router.on(method, path, opts ?? {}, () => {}, { route: `${method} ${path}` });
  }
}

const requests: Array<[string, string, Record<string, string>?]> = [
  ['GET', '/api/v1/albums'],
  ['GET', '/api/v1/albums/al_1'],
  ['GET', '/api/v1/albums/al_1/tracks'],
  ['GET', '/api/v1/albums/al_1/track'],
  ['GET', '/api/v1/album'],
  ['GET', '/api/v1/artists/ar%20x'],
  ['GET', '/api/v1/artwork/album/al_9/300'],
  ['POST', '/api/v1/playlists'],
  ['GET', '/api/v1/playlists'],
  ['PUT', '/api/v1/playlists/pl_1/tracks/3'],
  ['DELETE', '/api/v1/playlists/pl_2'],
  ['GET', '/api/v1/search/local'],
  ['GET', '/api/v1/search/remote'],
  ['GET', '/api/v1/search/remotex'],
  ['GET', '/api/v1/a/1/2/3/4/5/6'],
  ['GET', '/api/v1/files/deep/er/file.mp3'],
  ['GET', '/rest/ping.view'],
  ['GET', '/s/tok'],
  ['GET', '/api/v1/versioned', { version: '1.x' }],
  ['GET', '/api/v1/versioned', { version: '2.0.0' }],
  ['GET', '/api/v1/versioned', { version: '3.x' }],
  ['GET', '/api/v1/versioned'],
  ['GET', '/api/v1/hosted', { host: 'music.example.org' }],
  ['GET', '/api/v1/hosted', { host: 'other.example.org' }],
  ['GET', '/api/v1/a-very-long-static-prefix-for-index-of/x'],
  ['GET', '/api/v1/a-very-long-static-prefix-for-index-oF/x'],
  ['GET', '/nothing'],
];

const answer = (found: Found | null) => found && { params: { ...found.params }, store: found.store };

/** Every prefix matcher and params builder in the router's trees. */
function compiledFunctions(router: Router): Array<(...args: never[]) => unknown> {
  const out: Array<(...args: never[]) => unknown> = [];
  const visit = (node: FmwNode | null) => {
    if (!node) return;
    if (node.matchPrefix) out.push(node.matchPrefix);
    for (const h of node.handlerStorage?.handlers ?? []) out.push(h._createParamsObject);
    for (const child of [...node.staticChildrenNodes, ...node.parametricChildren, node.wildcardChild]) visit(child);
  };
  for (const tree of Object.values(router.trees)) visit(tree);
  return out;
}

describe('find-my-way as bundled (matchers compiled on first use)', () => {
  it('applies every patch to the bundled router', () => {
    expect(bundled).toContain('matchPrefixOnFirstUse');
    expect(bundled).toContain('createParamsOnFirstUse');
    expect(bundled).toContain('matchConstraintsOnFirstUse');
    expect(bundled).toContain('this.findStaticChildAsText(path, pathIndex)');
  });

  it('compiles nothing when routes are added, and answers every lookup as the package does', () => {
    const before = installed();
    const after = patched();
    addRoutes(before);
    addRoutes(after);
    const lazy = compiledFunctions(after).map((f) => f.name);
    expect(lazy).toContain('matchPrefixOnFirstUse');
    expect(lazy).toContain('createParamsOnFirstUse');
    expect(lazy.filter((n) => n === 'anonymous' || n === '_createParamsObject')).toEqual([]);
    // Fastify's duplicate check finds a route already there, compiling nothing either.
    for (const [method, path, opts] of routes)
      expect(after.findRoute(method, path, constraintsOf(opts))?.store, `${method} ${path}`).toEqual(
        before.findRoute(method, path, constraintsOf(opts))?.store,
      );
    expect(after.findRoute('GET', '/api/v1/albums/:id/track')).toBeNull();
    expect(compiledFunctions(after).filter((f) => f.name === 'anonymous')).toEqual([]);
    // Twice: the first lookup compiles and swaps in the compiled matcher, the second uses it.
    for (let round = 0; round < 2; round++)
      for (const [method, path, constraints] of requests)
        expect(
          answer(after.find(method, path, constraints)),
          `${method} ${path} ${JSON.stringify(constraints)}`,
        ).toEqual(answer(before.find(method, path, constraints)));
    // The matchers the requests went through were replaced by the compiled ones.
    expect(compiledFunctions(after).filter((f) => f.name === 'anonymous').length).toBeGreaterThan(0);
  });

  it('recompiles a constrained node when a handler is added after a lookup', () => {
    const before = installed();
    const after = patched();
    for (const router of [before, after]) {
      router.on('GET', '/v', { constraints: { version: '1.0.0' } }, () => {}, 'one');
      expect(router.find('GET', '/v', { version: '2.0.0' })).toBeNull();
      router.on('GET', '/v', { constraints: { version: '2.0.0' } }, () => {}, 'two');
    }
    for (const version of ['1.0.0', '2.0.0', '3.0.0'])
      expect(answer(after.find('GET', '/v', { version }))).toEqual(answer(before.find('GET', '/v', { version })));
    expect(answer(after.find('GET', '/v', { version: '2.0.0' }))?.store).toBe('two');
  });
});
