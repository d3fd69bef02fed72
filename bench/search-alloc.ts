/**
 * What a search request allocates on the server's main thread (issue 16): V8's sampling heap
 * profiler, counting objects the garbage collector has already taken too, over cache misses
 * (unseen queries, mirrors built, cache emptied) or cached answers, with the lean clients of the
 * search bench. Garbage sets how often the young generation is scavenged (every ~4 MB with the
 * launcher's `--max-semi-space-size=4`), and each scavenge pauses every request in flight.
 * Sampled bytes are steady from run to run on a busy machine, where CPU and latency figures are
 * not.
 *
 *   node --import tsx bench/search-alloc.ts --db FILE --lib DIR [--mode miss|hit] [--dist DIR] [--top 30]
 *
 * Prints the sampled bytes per request and the functions that allocated most (self, per request).
 */
import { Session } from 'node:inspector/promises';
import { benchUser, flags, mirrorsBuilt, requireLibrary, sqliteOf, startBenchServer } from './bench-server.ts';
import { unseenQueries } from './genlib.ts';
import { queriesFrom, searchWith } from './search-load.ts';

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

const { get } = flags(process.argv.slice(2));
const { db, lib } = requireLibrary(
  get('db'),
  get('lib'),
  'node --import tsx bench/search-alloc.ts --db <data>/db/earshot.db --lib <music folder> [--mode miss|hit]',
);
const mode = get('mode') ?? 'miss';
const top = Number(get('top') ?? 30);
const server = await startBenchServer({ db, lib, source: { dist: get('dist') } });
const { earshot } = server;
const session = new Session();
try {
  const sqlite = sqliteOf(earshot);
  const { cookieValue } = await earshot.sessions.create(benchUser(earshot), { userAgent: 'bench' });
  const cookie = `${server.modules.SESSION_COOKIE}=${cookieValue}`;
  const address = await earshot.app.listen({ host: '127.0.0.1', port: 0 });
  const load = (queries: string[]) =>
    searchWith({ url: `${address}/api/v1/search/local`, cookie, clients: 16, queries });
  const { search } = earshot.catalog;
  // Warm as search-cpu.ts does: every query once, the mirrors built, every query again through them.
  const distinct = [...new Set(queriesFrom(sqlite, 0, 3000))];
  await load(distinct);
  await mirrorsBuilt(earshot);
  search.dropAnswers();
  await load(distinct);
  const unseen = [...new Set(unseenQueries(6000, 7))];
  search.dropAnswers();
  await load(unseen);
  const queries = mode === 'miss' ? unseen : Array.from({ length: 5000 }, (_, i) => distinct[i % distinct.length]);
  if (mode === 'miss') search.dropAnswers();
  else await load(distinct); // every library query cached
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 256,
    includeObjectsCollectedByMinorGC: true,
    includeObjectsCollectedByMajorGC: true,
  });
  const n = (await load(queries)).length;
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: SamplingNode } };
  const totals = new Map<string, number>();
  const walk = (node: SamplingNode) => {
    const f = node.callFrame;
    const where = f.url.replace(/^.*\/(dist[^/]*|src|node_modules)\//, '');
    const key = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber}`;
    if (node.selfSize) totals.set(key, (totals.get(key) ?? 0) + node.selfSize);
    for (const c of node.children) walk(c);
  };
  walk(profile.head);
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  console.log(
    `search alloc: ${get('dist') ?? 'server/dist'}, ${mode === 'miss' ? 'cache misses' : 'cached answers'}, ` +
      `${n} requests: ${(all / n).toFixed(0)} bytes sampled per request`,
  );
  for (const [k, v] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(v / n).toFixed(0).padStart(7)} B  ${k}`);
  }
} finally {
  session.disconnect();
  await server.close();
}
