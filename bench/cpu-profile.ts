/**
 * V8 CPU profiles (node:inspector) of the server's main thread, grouped for the CPU benches
 * (search-cpu.ts, subsonic-cpu.ts): self time by what it is, or by function, in µs per request.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
}
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

/** What a sampled function is part of, by its script and name (first match wins). */
const CATEGORIES: [string, RegExp][] = [
  ['idle', /^\((idle|program)\)$/],
  ['garbage collection', /^\(garbage collector\)$/],
  ['authentication', /\/(accounts|identity)\//],
  ['logging', /pino|\/logger\./],
  ['search (cache, ranking, liked flags)', /\/catalog\/search/],
  ['subsonic (methods, mappers, envelope)', /\/subsonic\//],
  ['catalog (browse queries)', /\/catalog\//],
  ['SQLite (better-sqlite3)', /better-sqlite3/],
  ['validation (ajv)', /ajv|\/params\./],
  ['serialization', /fast-json-stringify|serializ/],
  ['routing and hooks (fastify)', /fastify|find-my-way|avvio|\/http\//],
  ['HTTP parsing, sockets (node)', /^node:|_http|internal\//],
];

function categorize(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  for (const [name, re] of CATEGORIES) if (re.test(url) || re.test(functionName)) return name;
  if (url === '') return 'native (V8 builtins, syscalls)';
  return 'other JavaScript';
}

/** Busy main-thread µs per request, by category. */
export function breakdown(profile: Profile, requests: number): [string, number][] {
  const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  for (const id of profile.samples) {
    const cat = categorize(byId.get(id) as ProfileNode);
    totals.set(cat, (totals.get(cat) ?? 0) + interval);
  }
  return [...totals.entries()].map(([k, us]) => [k, us / requests] as [string, number]).sort((a, b) => b[1] - a[1]);
}

/** The functions with the most self time (µs per request), idle left out. */
export function topFunctions(profile: Profile, requests: number, n: number): [string, number][] {
  const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length);
  const byId = new Map(profile.nodes.map((p) => [p.id, p]));
  const totals = new Map<string, number>();
  for (const id of profile.samples) {
    const node = byId.get(id) as ProfileNode;
    if (categorize(node) === 'idle') continue;
    const { functionName, url } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|dist)\//, '')}`;
    totals.set(key, (totals.get(key) ?? 0) + interval);
  }
  return [...totals.entries()]
    .map(([k, us]) => [k, us / requests] as [string, number])
    .sort((a, b) => b[1] - a[1])
    .slice(0, n);
}

/** Busy (not idle) main-thread µs per request. */
export const busyUs = (rows: [string, number][]) => rows.filter(([k]) => k !== 'idle').reduce((n, [, us]) => n + us, 0);

/** One measured run: main-thread busy µs per request, the whole process's CPU per request, the profile. */
export interface ProfiledRun {
  busy: number;
  process: number;
  profile: Profile;
  load: number;
}

/**
 * Runs `load` (which makes `requests` requests) `repeat` times with V8's sampling profiler on
 * the main thread (`session`: a connected node:inspector session, 100 µs interval); the runs in
 * order and the median one (by main-thread busy time).
 */
export async function profiledRuns(
  session: { post(method: string, params?: object): Promise<unknown> },
  requests: number,
  repeat: number,
  load: () => Promise<unknown>,
): Promise<{ runs: ProfiledRun[]; median: ProfiledRun }> {
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  const runs: ProfiledRun[] = [];
  for (let r = 0; r < repeat; r++) {
    await session.post('Profiler.start');
    const cpu0 = process.cpuUsage();
    await load();
    const cpu = process.cpuUsage(cpu0);
    const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
    runs.push({
      busy: busyUs(breakdown(profile, requests)),
      process: (cpu.user + cpu.system) / requests,
      profile,
      load: loadavg()[0],
    });
  }
  const sorted = [...runs].sort((a, b) => a.busy - b.busy);
  return { runs, median: sorted[Math.floor(sorted.length / 2)] };
}

/**
 * Prints a phase: each run's busy and process µs per request (with the load average), the median
 * run's breakdown by category and, with `top` > 0, its functions with the most self time; with
 * `save`, writes the median run's profile there (open it in Chrome's DevTools).
 */
export function printRuns(
  name: string,
  requests: number,
  { runs, median }: { runs: ProfiledRun[]; median: ProfiledRun },
  o: { top: number; save?: string },
): void {
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const list = (f: (r: ProfiledRun) => number, d = 0) => runs.map((r) => f(r).toFixed(d)).join(' / ');
  console.log(
    `${name}: ${requests} requests × ${runs.length}; main thread busy ${list((r) => r.busy)} µs per request ` +
      `(median ${median.busy.toFixed(0)}), whole process (clients included) ${list((r) => r.process)} µs ` +
      `(median ${mid(runs.map((r) => r.process)).toFixed(0)}), load average ${list((r) => r.load, 1)}`,
  );
  for (const [k, us] of breakdown(median.profile, requests))
    if (k !== 'idle') console.log(`  ${k.padEnd(40)} ${us.toFixed(1).padStart(7)} µs`);
  if (o.top > 0) {
    console.log(`  top ${o.top} functions (self time):`);
    for (const [k, us] of topFunctions(median.profile, requests, o.top))
      console.log(`    ${us.toFixed(1).padStart(7)} µs  ${k}`);
  }
  if (o.save) {
    const file = `${o.save}-${name.replace(/[^A-Za-z0-9]+/g, '-').replace(/-+$/, '')}.cpuprofile`;
    writeFileSync(file, JSON.stringify(median.profile));
    console.log(`  profile: ${file}`);
  }
}
