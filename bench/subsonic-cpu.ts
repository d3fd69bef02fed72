/**
 * Where a Subsonic request's CPU goes on the server's main thread (issue 20): `getAlbumList2` and
 * `search3`, f=json and f=xml (the mixes of subsonic-load.ts), on a scanned library, from lean
 * keep-alive clients on their own thread, with the main thread sampled by V8's profiler during
 * each measured run only. Each mix is measured `--repeat` times; printed: the median main-thread
 * busy µs per request and the whole process's CPU per request (clients included), then the
 * breakdown by category (and the top functions with `--top N`) of the median run.
 *
 *   npm run build -w server && node --import tsx bench/subsonic-cpu.ts --db FILE --lib DIR \
 *     [--requests 3000] [--clients 16] [--repeat 3] [--top 20] [--dist DIR] [--only search3]
 *
 * FILE / DIR as for search.bench.ts (a scanned database and its music folder; the database is
 * copied). `--dist` runs a server built elsewhere (a copy of an older server/dist: before/after
 * in the same session, the fair comparison on a shared machine).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { breakdown, busyUs, type Profile, topFunctions } from './cpu-profile.ts';
import { benchServerEnv, queriesFrom, requestsWith } from './search-load.ts';
import { subsonicMixes } from './subsonic-load.ts';

const argv = process.argv.slice(2);
const get = (name: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
};
const args = {
  db: get('db'),
  lib: get('lib'),
  requests: Number(get('requests') ?? 3000),
  clients: Number(get('clients') ?? 16),
  repeat: Number(get('repeat') ?? 3),
  dist: get('dist'),
  top: Number(get('top') ?? 0),
  /** Only the mixes whose name contains this. */
  only: get('only') ?? '',
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  if (!args.db || !existsSync(args.db) || !args.lib || !existsSync(args.lib)) {
    console.error('usage: node --import tsx bench/subsonic-cpu.ts --db <data>/db/earshot.db --lib <music folder>');
    process.exit(64);
  }
  const dist = args.dist ? new URL(`file://${resolve(args.dist)}/`) : new URL('../server/dist/', import.meta.url);
  const module = (path: string) => new URL(`${path}.js`, dist).href;
  const { createEarshot } = (await import(module('main'))) as typeof import('../server/src/main.ts');
  const { loadConfig } = (await import(module('config/load'))) as typeof import('../server/src/config/load.ts');
  const dataDir = mkdtempSync(join(tmpdir(), 'earshot-subsonic-cpu-'));
  mkdirSync(join(dataDir, 'db'));
  copyFileSync(args.db, join(dataDir, 'db', 'earshot.db'));
  // No scheduled backup: its first run (a copy of the whole database, soon after start) would land
  // in the measured runs and, on a loaded machine, stall the event loop long enough to drop keep-alive sockets.
  const env = { ...benchServerEnv(dataDir, args.lib), EARSHOT_BACKUP_INTERVAL_HOURS: '0' };
  const { config } = loadConfig({ env, argv: [], envFile: null, cwd: dataDir });
  const earshot = await createEarshot(config, { background: true });
  const session = new Session();
  session.connect();
  try {
    // As a user's server: the watcher started, the scan on start (nothing changed) done before measuring.
    const scanned = config.scanOnStart
      ? new Promise<void>((resolve) => {
          const off = earshot.library.scanner.onProgress((_p, final) => {
            if (final) {
              off();
              resolve();
            }
          });
        })
      : Promise.resolve();
    await earshot.app.ready();
    await scanned;
    await earshot.library.scanner.idle();
    const { sqlite } = earshot.database;
    const now = Date.now();
    sqlite
      .prepare(
        `insert or ignore into users (id, username, username_key, role, created_at, updated_at)
         values ('benchcpu000000000001', 'benchcpu', 'benchcpu', 'user', ?, ?)`,
      )
      .run(now, now);
    const { key } = await earshot.accounts.subsonic.createApiKey('benchcpu000000000001', 'bench');
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
    // Warm: every mix once, the search mirrors built, then once more.
    for (const mix of mixes) await run(mix.paths);
    const { search } = earshot.catalog;
    for (let i = 0; i < 3000 && !search.mirrorsWarm; i++) await new Promise((r) => setTimeout(r, 20));
    for (const mix of mixes) await run(mix.paths);
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    console.log(
      `subsonic cpu: ${args.dist ?? 'server/dist'}, ${args.clients} clients, ${args.requests} requests × ${args.repeat}`,
    );
    for (const mix of mixes) {
      const runs: { busy: number; process: number; profile: Profile; load: number }[] = [];
      for (let r = 0; r < args.repeat; r++) {
        await session.post('Profiler.start');
        const cpu0 = process.cpuUsage();
        await run(mix.paths);
        const cpu = process.cpuUsage(cpu0);
        const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
        runs.push({
          busy: busyUs(breakdown(profile, mix.paths.length)),
          process: (cpu.user + cpu.system) / mix.paths.length,
          profile,
          load: loadavg()[0],
        });
      }
      const mid = runs.find((r) => r.busy === median(runs.map((x) => x.busy))) as (typeof runs)[number];
      console.log(
        `${mix.name}: main thread busy ${runs.map((r) => r.busy.toFixed(0)).join(' / ')} µs per request ` +
          `(median ${mid.busy.toFixed(0)}), whole process ${runs.map((r) => r.process.toFixed(0)).join(' / ')} µs ` +
          `(median ${median(runs.map((r) => r.process)).toFixed(0)}), load average ${runs.map((r) => r.load.toFixed(1)).join(' / ')}`,
      );
      for (const [k, us] of breakdown(mid.profile, mix.paths.length))
        if (k !== 'idle') console.log(`  ${k.padEnd(40)} ${us.toFixed(1).padStart(7)} µs`);
      if (args.top > 0) {
        console.log(`  top ${args.top} functions (self time):`);
        for (const [k, us] of topFunctions(mid.profile, mix.paths.length, args.top))
          console.log(`    ${us.toFixed(1).padStart(7)} µs  ${k}`);
      }
    }
  } finally {
    session.disconnect();
    await earshot.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
