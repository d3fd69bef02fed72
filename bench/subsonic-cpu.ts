/**
 * Where a Subsonic request's CPU goes on the server's main thread (issue 20): `getAlbumList2` and
 * `search3`, f=json and f=xml (the mixes of subsonic-load.ts), on a scanned library, from lean
 * keep-alive clients on their own thread, with the main thread sampled by V8's profiler during
 * each measured run only. Each mix is measured `--repeat` times; printed: the median main-thread
 * busy µs per request and the whole process's CPU per request (clients included), then the
 * breakdown by category (and the top functions with `--top N`) of the median run.
 *
 *   npm run build -w server && node --import tsx bench/subsonic-cpu.ts --db FILE --lib DIR \
 *     [--requests 3000] [--clients 16] [--repeat 3] [--top 20] [--dist DIR] [--only search3] [--save PREFIX] [--inject]
 *     [--warmup N]
 *
 * FILE / DIR as for search.bench.ts (a scanned database and its music folder; the database is
 * copied). `--dist` runs a server built elsewhere (a copy of an older server/dist: before/after
 * in the same session, the fair comparison on a shared machine).
 */
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import {
  benchUser,
  type Earshot,
  flags,
  mirrorsBuilt,
  requireLibrary,
  sqliteOf,
  startBenchServer,
} from './bench-server.ts';
import { printRuns, profiledRuns } from './cpu-profile.ts';
import { queriesFrom, requestsWith } from './search-load.ts';
import { subsonicMixes } from './subsonic-load.ts';

const { get, has } = flags(process.argv.slice(2));
const args = {
  requests: Number(get('requests') ?? 3000),
  clients: Number(get('clients') ?? 16),
  repeat: Number(get('repeat') ?? 3),
  dist: get('dist'),
  top: Number(get('top') ?? 0),
  save: get('save'),
  /** Only the mixes whose name contains this. */
  only: get('only') ?? '',
  /** Requests through Fastify's inject, one at a time (no sockets, no clients): the server's own CPU. */
  inject: has('inject'),
  /**
   * Warm as `npm run bench:search` does (the search mirrors built, then only the first N requests
   * of each mix, JSON before XML), so the measured run includes the queries nobody asked yet
   * (search misses, rows read, items rendered for the first time). Without it every mix runs
   * whole twice first (the steady state).
   */
  warmup: get('warmup') === undefined ? undefined : Number(get('warmup')),
};

/**
 * Each mix through `app.inject`, one request at a time, `repeat` times: CPU µs per request of
 * the server alone (routing, hooks, the method, the writer; no socket writes, no clients), the
 * steadier figure when the machine is shared.
 */
async function injected(earshot: Earshot, mixes: { name: string; paths: string[] }[]): Promise<void> {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const mix of mixes) {
    const us: number[] = [];
    for (let r = 0; r < args.repeat; r++) {
      const cpu0 = process.cpuUsage();
      for (const url of mix.paths) {
        const res = await earshot.app.inject({ url });
        if (res.statusCode !== 200 || res.body.includes('"status":"failed"') || res.body.includes('status="failed"'))
          throw new Error(`${url}: ${res.body.slice(0, 200)}`);
      }
      const cpu = process.cpuUsage(cpu0);
      us.push((cpu.user + cpu.system) / mix.paths.length);
    }
    console.log(
      `${mix.name} (inject): ${us.map((u) => u.toFixed(0)).join(' / ')} µs CPU per request ` +
        `(median ${median(us).toFixed(0)}), load average ${loadavg()[0].toFixed(1)}`,
    );
  }
}

async function main(): Promise<void> {
  const { db, lib } = requireLibrary(
    get('db'),
    get('lib'),
    'node --import tsx bench/subsonic-cpu.ts --db <data>/db/earshot.db --lib <music folder>',
  );
  // No scheduled backup: its first run (a copy of the whole database, soon after start) would land
  // in the measured runs and, on a loaded machine, stall the event loop long enough to drop keep-alive sockets.
  const server = await startBenchServer({
    db,
    lib,
    source: { dist: args.dist },
    env: { EARSHOT_BACKUP_INTERVAL_HOURS: '0' },
  });
  const { earshot } = server;
  const session = new Session();
  session.connect();
  try {
    const sqlite = sqliteOf(earshot);
    const { key } = await earshot.accounts.subsonic.createApiKey(benchUser(earshot), 'bench');
    const albums = Number(sqlite.prepare('select count(*) from albums').pluck().get());
    const genre =
      (sqlite.prepare('select name from genres order by album_count desc limit 1').pluck().get() as
        | string
        | undefined) ?? 'Rock';
    const url = await earshot.app.listen({ host: '127.0.0.1', port: 0 });
    const mixes = subsonicMixes({
      apiKey: key,
      requests: args.requests,
      albums,
      genre,
      queries: queriesFrom(sqlite, 0, 600),
    }).filter((m) => m.name.includes(args.only));
    const failedMarks = ['status="failed"', '"status":"failed"'];
    const run = (paths: string[]) => requestsWith({ url, clients: args.clients, paths, failedMarks });
    if (args.warmup === undefined) {
      // Warm: every mix once, the search mirrors built, then once more.
      for (const mix of mixes) await run(mix.paths);
      await mirrorsBuilt(earshot);
      for (const mix of mixes) await run(mix.paths);
    } else {
      await run(mixes[0]?.paths.slice(0, 1) ?? []);
      await mirrorsBuilt(earshot);
      for (const mix of mixes) await run(mix.paths.slice(0, args.warmup));
    }
    console.log(
      `subsonic cpu: ${args.dist ?? 'server/dist'}, ${args.clients} clients, ${args.requests} requests × ${args.repeat}` +
        (args.warmup === undefined ? ', warm' : `, warmed by the first ${args.warmup} of each mix`),
    );
    if (args.inject) {
      await injected(earshot, mixes);
      return;
    }
    for (const mix of mixes) {
      const runs = await profiledRuns(session, mix.paths.length, args.repeat, () => run(mix.paths));
      printRuns(mix.name, mix.paths.length, runs, { top: args.top, save: args.save });
    }
  } finally {
    session.disconnect();
    await server.close();
  }
}

await main();
