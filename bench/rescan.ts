/**
 * No-change rescans alone, for quick before/after pairs on a shared machine: the scanner as
 * `earshot scan` builds it (`createScanner`), on a data folder that has already scanned `--lib`
 * (copy one: never write into a shared one), N rescans in this process (the first in a fresh
 * process, then warm ones); prints each one's wall time, phases and CPU (all threads) as JSON.
 * Alternate processes of two builds for pairs:
 *
 *   npm run rescan -w bench -- --dist $PWD/server/dist-base --data /tmp/my-data --lib /tmp/search-lib50k [--runs 3]
 *
 * Fails when a rescan changed something (the library must be fully scanned first).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: '../server/dist' },
    data: { type: 'string' },
    lib: { type: 'string' },
    runs: { type: 'string', default: '3' },
  },
});
if (!values.data || !values.lib) throw new Error('--data and --lib are required');
const dist = resolve(values.dist);
const dataDir = resolve(values.data);
// Another build's modules, loaded by path: typed loosely on purpose (any build's shape).
const load = (rel: string) => import(`${dist}/${rel}`);
const { connectDatabase } = await load('db/engine.js');
const { migrateToLatest } = await load('db/migrate.js');
const { createDomainEvents } = await load('domain-events.js');
const { createScanner } = await load('library/scan/factory.js');
const { createLogger } = await load('shared/logger.js');
const { systemClock } = await load('shared/time.js');

const logger = createLogger({ level: 'error', format: 'json', destination: 2 });
const database = await connectDatabase({ path: `${dataDir}/db/earshot.db` });
await migrateToLatest(database.db);
const domain = createDomainEvents({ database, clock: systemClock, logger });
const scanner = createScanner({
  config: { artistSeparators: [';'], scanWorkers: 1 },
  database,
  paths: { musicDir: resolve(values.lib), artworkDir: `${dataDir}/cache/artwork`, cacheDir: `${dataDir}/cache` },
  clock: systemClock,
  logger,
  events: domain.events,
});
const out: Record<string, number>[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const s = await scanner.start({ trigger: 'bench' });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (s.state !== 'done' || s.added + s.updated + s.removed > 0)
    throw new Error(`not a no-change rescan: ${JSON.stringify(s)}`);
  out.push({ ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), ...s.phaseMs });
}
await domain.settled();
await database.close();
console.log(JSON.stringify(out));
