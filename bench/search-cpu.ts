/**
 * Where a search request's CPU goes on the server's main thread (issue 16): cached answers and
 * cache misses over HTTP from lean keep-alive clients (search-load.ts, their own thread), with the
 * main thread sampled by V8's profiler (node:inspector) during each measured run only. Self time
 * is grouped by what it is — authentication, logging, routing and hooks, validation,
 * serialization, the search itself, HTTP parsing and socket writes, garbage collection — and
 * printed as µs per request, beside the whole process's CPU per request (clients included).
 *
 * Two floors are measured first, with the same clients and the same response bytes (a typical
 * cached answer): a bare Fastify instance with one route (what any Fastify server pays per
 * request), and a route of the Earshot app itself that sends those bytes after the app's own
 * hooks (host check, request id, session authentication, security headers). A cached search
 * answer costs its own code on top of the second.
 *
 *   npm run build -w server && node --import tsx bench/search-cpu.ts --db FILE --lib DIR \
 *     [--requests 20000] [--clients 16] [--repeat 3] [--top 20] [--save PREFIX] [--src | --dist DIR] [--direct]
 *
 * FILE / DIR as for search.bench.ts (a scanned database and its music folder; the database is
 * copied). The server runs in this process with its default settings (watcher on DIR).
 * `--save PREFIX` writes each phase's median profile to `PREFIX-<phase>.cpuprofile`; `--direct`
 * runs only the last figure, the misses ranked without HTTP.
 */
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import Fastify from 'fastify';
import { benchUser, flags, mirrorsBuilt, requireLibrary, sqliteOf, startBenchServer } from './bench-server.ts';
import { printRuns, profiledRuns } from './cpu-profile.ts';
import { unseenQueries } from './genlib.ts';
import { queriesFrom, requestsWith, searchWith } from './search-load.ts';

const { get, has } = flags(process.argv.slice(2));
const args = {
  requests: Number(get('requests') ?? 20_000),
  clients: Number(get('clients') ?? 16),
  repeat: Number(get('repeat') ?? 3),
  top: Number(get('top') ?? 0),
  save: get('save'),
};
const FLOOR = '/bench/floor';

async function main(): Promise<void> {
  const { db, lib } = requireLibrary(
    get('db'),
    get('lib'),
    'node --import tsx bench/search-cpu.ts --db <data>/db/earshot.db --lib <music folder>',
  );
  // The bytes both floor routes send: set once a typical cached answer is known.
  let floorBody: Buffer = Buffer.alloc(0);
  const server = await startBenchServer({
    db,
    lib,
    source: { dist: get('dist'), src: has('src') },
    beforeReady: (earshot) =>
      // As the search route: signed-in callers only (the app's authentication hook runs for every route).
      earshot.app.get(FLOOR, { schema: { hide: true }, config: { access: 'self' } }, (request, reply) => {
        if (!request.user) return reply.code(401).send();
        return reply.type('application/json; charset=utf-8').send(floorBody);
      }),
  });
  const { earshot } = server;
  const bare = Fastify({ logger: false });
  bare.get(FLOOR, (_request, reply) => reply.type('application/json; charset=utf-8').send(floorBody));
  const session = new Session();
  session.connect();
  try {
    const sqlite = sqliteOf(earshot);
    const { cookieValue } = await earshot.sessions.create(benchUser(earshot), { userAgent: 'bench' });
    const cookie = `${server.modules.SESSION_COOKIE}=${cookieValue}`;
    const address = await earshot.app.listen({ host: '127.0.0.1', port: 0 });
    const bareAddress = await bare.listen({ host: '127.0.0.1', port: 0 });
    const load = (queries: string[]) =>
      searchWith({ url: `${address}/api/v1/search/local`, cookie, clients: args.clients, queries });
    const distinct = [...new Set(queriesFrom(sqlite, 0, 3000))];
    // Warm: every query once (misses), the mirrors built, then every query once more through them.
    await load(distinct);
    const { search } = earshot.catalog;
    await mirrorsBuilt(earshot);
    search.dropAnswers();
    await load(distinct);
    // The floors send the median-sized answer of the first 200 queries.
    const answers: Buffer[] = [];
    for (const q of distinct.slice(0, 200)) {
      const res = await earshot.app.inject({
        url: `/api/v1/search/local?q=${encodeURIComponent(q)}&limit=20`,
        headers: { cookie },
      });
      answers.push(res.rawPayload);
    }
    answers.sort((a, b) => a.length - b.length);
    floorBody = answers[Math.floor(answers.length / 2)];
    console.log(
      `search cpu: ${get('dist') ?? (has('src') ? 'server/src' : 'server/dist')}, ${args.clients} clients, ` +
        `floor answer ${floorBody.length} bytes (median of ${answers.length} cached answers)`,
    );
    const floorPaths = Array.from({ length: args.requests }, (_, i) => `${FLOOR}?q=${i % distinct.length}&limit=20`);
    const phase = async (name: string, n: number, run: () => Promise<unknown>, before = () => {}) => {
      if (has('direct')) return; // only the direct ranking below
      await run(); // JIT warm-up of this path
      before();
      printRuns(name, n, await profiledRuns(session, n, args.repeat, run), { top: args.top, save: args.save });
    };
    await phase('fastify floor (bare instance)', floorPaths.length, () =>
      requestsWith({ url: bareAddress, clients: args.clients, paths: floorPaths }),
    );
    await phase('app floor (hooks, session)', floorPaths.length, () =>
      requestsWith({ url: address, cookie, clients: args.clients, paths: floorPaths }),
    );
    // Cached answers: the distinct queries again and again.
    const hits = Array.from({ length: args.requests }, (_, i) => distinct[i % distinct.length]);
    await phase('cached answers', hits.length, () => load(hits));
    // Misses: unseen queries, cache emptied before each run (mirrors built: ranked in memory).
    const unseen = [...new Set(unseenQueries(6000, 7))];
    // The same misses ranked with no HTTP at all, one at a time: the search's own CPU per miss
    // (steadier than the HTTP phases on a shared machine).
    const limits = { tracks: 20, albums: 10, artists: 10, genres: 5 };
    const direct: number[] = [];
    for (let r = 0; r < args.repeat + 1; r++) {
      search.dropAnswers();
      const cpu0 = process.cpuUsage();
      for (const q of unseen) {
        const json = search.searchJson(q, null, limits, (body) => JSON.stringify(body));
        if (json instanceof Promise) await json;
      }
      const cpu = process.cpuUsage(cpu0);
      if (r > 0) direct.push((cpu.user + cpu.system) / unseen.length); // the first run warms the JIT
    }
    console.log(
      `cache misses ranked directly (no HTTP): ${unseen.length} queries × ${direct.length}; ` +
        `${direct.map((u) => u.toFixed(0)).join(' / ')} µs CPU each (median ` +
        `${[...direct].sort((a, b) => a - b)[Math.floor(direct.length / 2)].toFixed(0)}), load average ${loadavg()[0].toFixed(1)}`,
    );
    await phase(
      'cache misses (unseen queries, mirrors built)',
      unseen.length,
      () => {
        search.dropAnswers();
        return load(unseen);
      },
      () => search.dropAnswers(),
    );
  } finally {
    session.disconnect();
    await bare.close();
    await server.close();
  }
}

await main();
