/**
 * V8 CPU profiles (node:inspector) of the server's main thread, grouped for the CPU benches
 * (search-cpu.ts, subsonic-cpu.ts): self time by what it is, or by function, in µs per request.
 */

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
