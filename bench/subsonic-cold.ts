/**
 * What search3 reads for songs nobody asked for yet (issue 20): the twenty best song hits of a
 * new query read with their credits and genres in one statement (`songsWithExtras`), on the
 * search reader thread (what the Subsonic catalog cache does now on SQLite) against the same
 * statement on the server's own connection (before). Same server, alternated query by query (each
 * way on its own queries, so both meet pages SQLite has not read yet; which goes first swaps every
 * query); prints the median and p90 wall time per read and the process CPU per read (both
 * threads). On the main connection the whole read holds the event loop; on the reader thread only
 * the hand-off and the rows' structured clone do (bench/README.md has the parts' costs).
 *
 *   npm run build -w server && node --import tsx bench/subsonic-cold.ts --db FILE --lib DIR [--queries 1200] [--dist DIR]
 */
import { loadavg } from 'node:os';
import { flags, mirrorsBuilt, requireLibrary, sqliteOf, startBenchServer } from './bench-server.ts';
import { percentile, queriesFrom } from './search-load.ts';

const { get } = flags(process.argv.slice(2));
const { db, lib } = requireLibrary(
  get('db'),
  get('lib'),
  'node --import tsx bench/subsonic-cold.ts --db FILE --lib DIR',
);
const server = await startBenchServer({
  db,
  lib,
  source: { dist: get('dist') },
  env: { EARSHOT_BACKUP_INTERVAL_HOURS: '0' },
});
try {
  const { catalog } = server.earshot;
  await catalog.search.searchIds('warm', { tracks: 20 });
  await mirrorsBuilt(server.earshot);
  const queries = [...new Set(queriesFrom(sqliteOf(server.earshot), 4000, Number(get('queries') ?? 1200)))];
  const search = catalog.search as typeof catalog.search & { startReader?: () => Promise<boolean> };
  if (!(await search.startReader?.())) throw new Error('this build has no search reader thread to read on');
  const b = catalog.browse;
  // The same repository class without the reader thread: every read on the server's connection.
  const Browse = b.constructor as new (db: typeof server.earshot.database.db) => typeof b;
  const here = new Browse(server.earshot.database.db);
  const ways = {
    'reader thread': (ids: string[]) => b.songsWithExtras(ids),
    'main connection': (ids: string[]) => here.songsWithExtras(ids),
  };
  const names = Object.keys(ways) as (keyof typeof ways)[];
  const wall: Record<string, number[]> = { [names[0]]: [], [names[1]]: [] };
  const cpu: Record<string, number> = { [names[0]]: 0, [names[1]]: 0 };
  const seen = new Set<string>();
  let turn = 0;
  for (const q of queries) {
    const ids = (await catalog.search.searchIds(q, { tracks: 20, albums: 0, artists: 0 })).tracks
      .slice(0, 20)
      .filter((id) => !seen.has(id));
    if (ids.length < 5) continue;
    for (const id of ids) seen.add(id);
    // Each query's songs are read one way only (a second read would find SQLite's pages warm).
    const name = names[turn++ % 2];
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await ways[name](ids);
    wall[name].push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu[name] += c.user + c.system;
  }
  for (const name of names) {
    const w = wall[name];
    console.log(
      `${name}: ${w.length} reads of up to 20 new songs, median ${(percentile(w, 50) * 1000).toFixed(0)} µs, ` +
        `p90 ${(percentile(w, 90) * 1000).toFixed(0)} µs, CPU ${(cpu[name] / w.length).toFixed(0)} µs per read, ` +
        `load average ${loadavg()[0].toFixed(1)}`,
    );
  }
} finally {
  await server.close();
}
