/**
 * What search3 reads for songs nobody asked for yet (issue 20): the twenty best song hits of a
 * new query read with their credits and genres in one statement (`songsWithExtras`, what the
 * Subsonic catalog cache does now) against the three statements it made before (rows, credits,
 * genres: `songs`, `creditsOf`, `genresOf`, still there for rows a caller already has). Same
 * server, same connection, alternated query by query (each way on its own queries, so both meet
 * pages SQLite has not read yet; which goes first swaps every query); prints the median and p90
 * wall time per read and the process CPU per read of each; then the same for each way's batches
 * read again, alternating (pages cached: the statements' own cost, all of it on the event loop).
 * `--dist DIR` runs another build (before/after in one session; three statements are the control).
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
// `--dist DIR`: another build (before/after in one session; the three statements are the control).
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
  const b = catalog.browse;
  const ways = {
    'one statement': (ids: string[]) => b.songsWithExtras(ids),
    'three statements': (ids: string[]) => Promise.all([b.songs(ids), b.creditsOf(ids), b.genresOf(ids)]),
  };
  const names = Object.keys(ways) as (keyof typeof ways)[];
  const wall: Record<string, number[]> = { [names[0]]: [], [names[1]]: [] };
  const cpu: Record<string, number> = { [names[0]]: 0, [names[1]]: 0 };
  const seen = new Set<string>();
  /** Each way's batches, read again afterwards with SQLite's pages cached (the statement's own cost). */
  const batches: Record<string, string[][]> = { [names[0]]: [], [names[1]]: [] };
  let turn = 0;
  for (const q of queries) {
    const ids = (await catalog.search.searchIds(q, { tracks: 20, albums: 0, artists: 0 })).tracks
      .slice(0, 20)
      .filter((id) => !seen.has(id));
    if (ids.length < 5) continue;
    for (const id of ids) seen.add(id);
    // Each query's songs are read one way only (a second read would find SQLite's pages warm).
    const name = names[turn++ % 2];
    batches[name].push(ids);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await ways[name](ids);
    wall[name].push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu[name] += c.user + c.system;
  }
  const report = (label: string) => {
    for (const name of names) {
      const w = wall[name];
      console.log(
        `${name}: ${w.length} reads of up to 20 ${label} songs, median ${(percentile(w, 50) * 1000).toFixed(0)} µs, ` +
          `p90 ${(percentile(w, 90) * 1000).toFixed(0)} µs, CPU ${(cpu[name] / w.length).toFixed(0)} µs per read, ` +
          `load average ${loadavg()[0].toFixed(1)}`,
      );
      wall[name] = [];
      cpu[name] = 0;
    }
  };
  report('new');
  // The same batches again, alternating ways, their pages now in SQLite's cache: what is left is the
  // statements' own work (row building, the credit and genre lists), all of it on the event loop.
  for (let i = 0; i < Math.min(batches[names[0]].length, batches[names[1]].length); i++) {
    for (const name of i % 2 ? names : [...names].reverse()) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await ways[name](batches[name][i]);
      wall[name].push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[name] += c.user + c.system;
    }
  }
  report('cached');
} finally {
  await server.close();
}
