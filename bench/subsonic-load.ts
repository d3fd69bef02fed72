/**
 * Subsonic load for the benchmarks (subsonic.bench.ts, search.bench.ts): `getAlbumList2` (mixed
 * list types) and `search3` (typed queries) from N keep-alive clients on their own thread (the
 * lean client of search-load.ts), in JSON and in XML, after a warm-up. Prints p50 / p90 / p99,
 * throughput and the process's CPU per request (server plus the lean clients; on a shared machine
 * the steadier figure: wall-clock latencies follow the load average, CPU per request barely moves).
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { percentile, requestsWith } from './search-load.ts';

export const SUBSONIC_LIST_TYPES = [
  'newest',
  'alphabeticalByName',
  'alphabeticalByArtist',
  'random',
  'byYear',
  'byGenre',
] as const;

export interface SubsonicMix {
  name: string;
  paths: string[];
}

const restPath = (apiKey: string, format: string, method: string, q: Record<string, string | number>) =>
  `/rest/${method}?${new URLSearchParams({
    v: '1.16.1',
    c: 'bench',
    f: format,
    apiKey,
    ...Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)])),
  })}`;

/**
 * getAlbumList2 of every listed type (50 albums a page, offsets across `albums`) and search3 of
 * `queries`, or of each format's own queries (`queriesByFormat`): then no format finds the
 * answers another format's run already asked for (search.bench.ts).
 */
export function subsonicMixes(o: {
  apiKey: string;
  requests: number;
  albums: number;
  genre: string;
  queries: string[];
  queriesByFormat?: Record<string, string[]>;
  formats?: string[];
}): SubsonicMix[] {
  const mixes: SubsonicMix[] = [];
  for (const format of o.formats ?? ['json', 'xml']) {
    mixes.push({
      name: `getAlbumList2 f=${format}`,
      paths: Array.from({ length: o.requests }, (_, i) =>
        restPath(o.apiKey, format, 'getAlbumList2', {
          type: SUBSONIC_LIST_TYPES[i % SUBSONIC_LIST_TYPES.length],
          size: 50,
          offset: (i * 37) % Math.max(1, o.albums - 50),
          fromYear: 1970,
          toYear: 1990,
          genre: o.genre,
        }),
      ),
    });
    const queries = o.queriesByFormat?.[format] ?? o.queries;
    mixes.push({
      name: `search3 f=${format}`,
      paths: Array.from({ length: o.requests }, (_, i) =>
        restPath(o.apiKey, format, 'search3', {
          query: queries[i % queries.length],
          songCount: 20,
          albumCount: 20,
          artistCount: 20,
        }),
      ),
    });
  }
  return mixes;
}

export interface MixFigures {
  name: string;
  latencies: number[];
  requestsPerSecond: number;
  cpuPerRequestMs: number;
  /** The main thread's GC pauses while the mix was measured (the server's thread: the clients have their own), ms. */
  gcPauses: number[];
  /** How many of them were full (mark-compact) collections. */
  majorGcs: number;
}

/**
 * Warms each mix up (its first `warmup` requests; again after `ready` resolves), then measures it;
 * one line printed per mix.
 */
export async function measureSubsonic(
  baseUrl: string,
  mixes: SubsonicMix[],
  o: { clients: number; warmup: number; log?: (line: string) => void; ready?: () => Promise<void> },
): Promise<MixFigures[]> {
  const failedMarks = ['status="failed"', '"status":"failed"'];
  const run = (paths: string[]) => requestsWith({ url: baseUrl, clients: o.clients, paths, failedMarks });
  for (const mix of mixes) await run(mix.paths.slice(0, o.warmup));
  // A running server's steady state (the search mirrors built after the first searches), then warm again.
  if (o.ready) {
    await o.ready();
    for (const mix of mixes) await run(mix.paths.slice(0, o.warmup));
  }
  const out: MixFigures[] = [];
  for (const mix of mixes) {
    const gcPauses: number[] = [];
    let majorGcs = 0;
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        gcPauses.push(e.duration);
        if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
          majorGcs++;
      }
    });
    gc.observe({ entryTypes: ['gc'] });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const latencies = await run(mix.paths);
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    gc.disconnect();
    const figures = {
      name: mix.name,
      latencies,
      requestsPerSecond: (latencies.length / wall) * 1000,
      cpuPerRequestMs: (cpu.user + cpu.system) / 1000 / latencies.length,
      gcPauses,
      majorGcs,
    };
    out.push(figures);
    o.log?.(describeSubsonic(figures, o.clients));
  }
  return out;
}

export function describeSubsonic(m: MixFigures, clients: number): string {
  const f = (p: number) => percentile(m.latencies, p).toFixed(1);
  // p99 of each tenth of the run (in request order): where the slow answers were.
  const tenths: string[] = [];
  const size = Math.ceil(m.latencies.length / 10);
  for (let i = 0; i < m.latencies.length; i += size)
    tenths.push(percentile(m.latencies.slice(i, i + size), 99).toFixed(0));
  const gcMs = m.gcPauses.reduce((a, b) => a + b, 0);
  return (
    `${m.name}: p50 ${f(50)} / p90 ${f(90)} / p99 ${f(99)} ms (${clients} clients, ${m.latencies.length} requests, ` +
    `${m.requestsPerSecond.toFixed(0)} req/s, ${m.cpuPerRequestMs.toFixed(2)} ms CPU each); p99 by tenth ${tenths.join(' ')}; ` +
    `GC ${m.gcPauses.length} pauses (${m.majorGcs} full), ${gcMs.toFixed(0)} ms, longest ${Math.max(0, ...m.gcPauses).toFixed(1)} ms`
  );
}

/** How many distinct queries of `requests` cycling through `queries` come after the first `warmup` requests only. */
export function unseenAfterWarmup(queries: readonly string[], requests: number, warmup: number): number {
  const asked = new Set<string>();
  for (let i = 0; i < Math.min(warmup, requests); i++) asked.add(queries[i % queries.length]);
  const later = new Set<string>();
  for (let i = warmup; i < requests; i++) {
    const q = queries[i % queries.length];
    if (!asked.has(q)) later.add(q);
  }
  return later.size;
}
