/**
 * Bytes a warm Subsonic request allocates on the server's main thread (V8's sampling heap
 * profiler, garbage included), by the three innermost frames: fewer bytes mean fewer scavenges,
 * and each scavenge pauses every request in flight.
 *
 *   npm run build -w server && node --import tsx bench/subsonic-alloc.ts --db FILE --lib DIR \
 *     [--dist DIR] [--format json|xml] [--mix search3|getAlbumList2]
 *
 * FILE / DIR as for search.bench.ts. The mix (3,000 requests, 16 clients) runs twice to warm,
 * then once sampled.
 */
import { Session } from 'node:inspector/promises';
import { benchUser, flags, mirrorsBuilt, sqliteOf, startBenchServer } from './bench-server.ts';
import { queriesFrom, requestsWith } from './search-load.ts';
import { subsonicMixes } from './subsonic-load.ts';
const { get } = flags(process.argv.slice(2));
const server = await startBenchServer({
  db: get('db') as string,
  lib: get('lib') as string,
  source: { dist: get('dist') },
  env: { EARSHOT_BACKUP_INTERVAL_HOURS: '0' },
});
const { earshot } = server;
const sqlite = sqliteOf(earshot);
const { key } = await earshot.accounts.subsonic.createApiKey(benchUser(earshot), 'bench');
const fmt = get('format') ?? 'json';
const mixes = subsonicMixes({
  apiKey: key,
  requests: 3000,
  albums: Number(sqlite.prepare('select count(*) from albums').pluck().get()),
  genre:
    (sqlite.prepare('select name from genres order by album_count desc limit 1').pluck().get() as string | undefined) ??
    'Rock',
  queries: queriesFrom(sqlite, 0, 600),
  formats: [fmt],
});
const mix = mixes.find((m) => m.name.startsWith(get('mix') ?? 'search3'));
if (!mix) throw new Error('--mix is search3 or getAlbumList2');
const { paths } = mix;
const url = await earshot.app.listen({ host: '127.0.0.1', port: 0 });
const run = () => requestsWith({ url, clients: 16, paths });
await run();
await mirrorsBuilt(earshot);
await run();
const s = new Session();
s.connect();
await s.post('HeapProfiler.startSampling', {
  samplingInterval: 512,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
await run();
const { profile } = await s.post('HeapProfiler.stopSampling');
type N = { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: N[] };
const byFn = new Map<string, number>();
const walk = (n: N, stack: string[]) => {
  const name = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*\/(dist|dist-base|src|node_modules)\//, '')}:${n.callFrame.lineNumber}`;
  const st = [...stack, name];
  if (n.selfSize) {
    const k = st.slice(-3).join(' < ');
    byFn.set(k, (byFn.get(k) ?? 0) + n.selfSize);
  }
  for (const c of n.children) walk(c, st);
};
walk(profile.head as unknown as N, []);
const total = [...byFn.values()].reduce((a, b) => a + b, 0);
console.log(`allocated ${(total / 3000 / 1024).toFixed(1)} KB per request (sampled)`);
for (const [k, v] of [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40))
  console.log((v / 3000).toFixed(0).padStart(7), k);
await server.close();
