/**
 * Where a search request's CPU goes on the server's main thread (issue 16): cached answers and
 * cache misses over HTTP from lean keep-alive clients (search-load.ts, their own thread), with the
 * main thread sampled by V8's profiler (node:inspector) during each phase only. Self time is
 * grouped by what it is — authentication, logging, routing and hooks, validation, serialization,
 * the search itself, HTTP parsing and socket writes, garbage collection — and printed as µs per
 * request, beside the whole process's CPU per request (clients included).
 *
 *   npm run build -w server && node --import tsx bench/search-cpu.ts --db FILE --lib DIR [--requests 20000] [--clients 16] [--src]
 *
 * FILE / DIR as for search.bench.ts (a scanned database and its music folder; the database is
 * copied). The server runs in this process with its default settings (watcher on DIR).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { breakdown, type Profile, topFunctions } from './cpu-profile.ts';
import { unseenQueries } from './genlib.ts';
import { benchServerEnv, queriesFrom, searchWith } from './search-load.ts';

const argv = process.argv.slice(2);
const get = (name: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
};
const args = {
  db: get('db'),
  lib: get('lib'),
  requests: Number(get('requests') ?? 20_000),
  clients: Number(get('clients') ?? 16),
  /** Run the server from its sources (through tsx) instead of server/dist. */
  src: argv.includes('--src'),
  /** Run a server built elsewhere (a folder like server/dist, e.g. a copy of an older build). */
  dist: get('dist'),
  /** Also print the N functions with the most self time per phase. */
  top: Number(get('top') ?? 0),
};

async function main(): Promise<void> {
  if (!args.db || !existsSync(args.db) || !args.lib || !existsSync(args.lib)) {
    console.error('usage: node --import tsx bench/search-cpu.ts --db <data>/db/earshot.db --lib <music folder>');
    process.exit(64);
  }
  const dist = args.dist
    ? new URL(`file://${resolve(args.dist)}/`)
    : new URL(args.src ? '../server/src/' : '../server/dist/', import.meta.url);
  const module = (path: string) => new URL(args.src ? `${path}.ts` : `${path}.js`, dist).href;
  const { createEarshot } = (await import(module('main'))) as typeof import('../server/src/main.ts');
  const { loadConfig } = (await import(module('config/load'))) as typeof import('../server/src/config/load.ts');
  const { SESSION_COOKIE } = (await import(
    module('accounts/session-store')
  )) as typeof import('../server/src/accounts/session-store.ts');
  const dataDir = mkdtempSync(join(tmpdir(), 'earshot-search-cpu-'));
  mkdirSync(join(dataDir, 'db'));
  copyFileSync(args.db, join(dataDir, 'db', 'earshot.db'));
  const { config } = loadConfig({ env: benchServerEnv(dataDir, args.lib), argv: [], envFile: null, cwd: dataDir });
  const earshot = await createEarshot(config, { background: true });
  const session = new Session();
  session.connect();
  try {
    await earshot.app.ready();
    await earshot.library.scanner.idle();
    const { sqlite } = earshot.database;
    const now = Date.now();
    sqlite
      .prepare(
        `insert or ignore into users (id, username, username_key, role, created_at, updated_at)
         values ('benchcpu000000000001', 'benchcpu', 'benchcpu', 'user', ?, ?)`,
      )
      .run(now, now);
    const { cookieValue } = await earshot.sessions.create('benchcpu000000000001', { userAgent: 'bench' });
    const address = await earshot.app.listen({ host: '127.0.0.1', port: 0 });
    const load = (queries: string[]) =>
      searchWith({
        url: `${address}/api/v1/search/local`,
        cookie: `${SESSION_COOKIE}=${cookieValue}`,
        clients: args.clients,
        queries,
      });
    const distinct = [...new Set(queriesFrom(sqlite, 0, 3000))];
    // Warm: every query once (misses), the mirrors built, then every query once more through them.
    await load(distinct);
    const { search } = earshot.catalog;
    for (let i = 0; i < 3000 && !search.mirrorsWarm; i++) await new Promise((r) => setTimeout(r, 20));
    search.dropAnswers();
    await load(distinct);
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    const phase = async (name: string, queries: string[], before: () => void) => {
      before();
      await session.post('Profiler.start');
      const cpu0 = process.cpuUsage();
      await load(queries);
      const cpu = process.cpuUsage(cpu0);
      const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
      const rows = breakdown(profile, queries.length);
      const busy = rows.filter(([k]) => k !== 'idle').reduce((n, [, us]) => n + us, 0);
      console.log(
        `${name}: ${queries.length} requests; main thread busy ${busy.toFixed(0)} µs per request, ` +
          `whole process (clients included) ${((cpu.user + cpu.system) / queries.length).toFixed(0)} µs`,
      );
      for (const [k, us] of rows) if (k !== 'idle') console.log(`  ${k.padEnd(40)} ${us.toFixed(1).padStart(7)} µs`);
      if (args.top > 0) {
        console.log(`  top ${args.top} functions (self time):`);
        for (const [k, us] of topFunctions(profile, queries.length, args.top))
          console.log(`    ${us.toFixed(1).padStart(7)} µs  ${k}`);
      }
    };
    // Cached answers: the distinct queries again and again.
    const hits = Array.from({ length: args.requests }, (_, i) => distinct[i % distinct.length]);
    await phase('cached answers', hits, () => {});
    // Misses: unseen queries, cache emptied (mirrors built: ranked in memory).
    const unseen = [...new Set(unseenQueries(6000, 7))];
    await phase('cache misses (unseen queries, mirrors built)', unseen, () => search.dropAnswers());
  } finally {
    session.disconnect();
    await earshot.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
