/**
 * Local search on SQLite vs PostgreSQL over the same library, in process (issue 19's target:
 * search p99 at 16 clients on PostgreSQL within 2× of SQLite's on the same 50,000-track library).
 *
 *   npm run bench:search-engines -- --db FILE --pg URL [--clients 16] [--queries 3000] [--warmup 600] [--rounds 1]
 *
 * FILE is a scanned Earshot database (`<data>/db/earshot.db`); it is copied, never written. URL
 * is a PostgreSQL database: when it holds no tracks yet, the copy is copied into it first
 * (`earshot migrate-db`, which also fills the search tables of migration 0019); else it must hold
 * the same library. Each engine gets the search service the server gives it (catalog/module.ts):
 * `CatalogSearch` (FTS5, in-memory mirrors, reader thread) on SQLite, `PgCatalogSearch` on
 * PostgreSQL (a pool of 10 connections, the server's default). Per engine and round: a warm-up
 * (other queries; until the in-memory mirrors are built, the server's steady state), then two
 * measured phases with an emptied result cache, `clients` concurrent callers with no think time:
 * the library mix (queries typed from the library's titles, artists and albums, with repeats as
 * search-as-you-type makes them) and the unseen mix (every query new: titles from another seed,
 * bench/genlib.ts `unseenQueries`, as bench:search generates them). Prints p50 / p90 / p99 / max
 * per phase and engine, and the PostgreSQL / SQLite p99 ratio. No HTTP: the JSON bytes each
 * route would send are made (`searchJson`), so the figures are the search service's own.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { CatalogSearch } from '../server/src/catalog/search.ts';
import type { LocalSearch } from '../server/src/catalog/search-api.ts';
import { PgCatalogSearch } from '../server/src/catalog/search-pg.ts';
import { copySqliteToPostgres } from '../server/src/db/copy.ts';
import { openDatabase } from '../server/src/db/database.ts';
import { connectDatabase } from '../server/src/db/engine.ts';
import { migrateToLatest } from '../server/src/db/migrate.ts';
import { unseenQueries } from './genlib.ts';
import { percentile, queriesFrom } from './search-load.ts';

const argv = process.argv.slice(2);
const get = (name: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
};
const args = {
  db: get('db'),
  pg: get('pg'),
  clients: Number(get('clients') ?? 16),
  queries: Number(get('queries') ?? 3000),
  warmup: Number(get('warmup') ?? 600),
  rounds: Number(get('rounds') ?? 1),
};

/** `clients` callers working through `queries` in order, each call timed (ms). */
async function load(search: LocalSearch, queries: string[], clients: number): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const serialize = (s: unknown) => JSON.stringify(s);
  const worker = async () => {
    while (next < queries.length) {
      const q = queries[next++];
      const t0 = performance.now();
      const json = search.searchJson(q, null, {}, serialize);
      if (json instanceof Promise) await json;
      latencies.push(performance.now() - t0);
      // A synchronous answer (cached, or ranked by the mirrors) still yields, as a socket would.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  return latencies;
}

const fmt = (xs: number[]) =>
  `p50 ${percentile(xs, 50).toFixed(2)} p90 ${percentile(xs, 90).toFixed(2)} p99 ${percentile(xs, 99).toFixed(2)} max ${Math.max(...xs).toFixed(1)} ms`;

async function main(): Promise<void> {
  if (!args.db || !existsSync(args.db) || !args.pg) {
    console.error('usage: npm run bench:search-engines -- --db <data>/db/earshot.db --pg postgres://…/db');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'earshot-search-engines-'));
  try {
    mkdirSync(join(dir, 'db'));
    const file = join(dir, 'db', 'earshot.db');
    copyFileSync(args.db, file);
    const lite = openDatabase(file);
    await migrateToLatest(lite.db);
    const pg = await connectDatabase({ url: args.pg, path: '' });
    try {
      await migrateToLatest(pg.db);
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from tracks`.execute(pg.db);
      const tracks = lite.sqlite.prepare('select count(*) from tracks').pluck().get() as number;
      if ((rows[0]?.n ?? 0) === 0) {
        const t0 = performance.now();
        await copySqliteToPostgres(lite, pg.db);
        console.log(`copied into PostgreSQL (earshot migrate-db) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } else if (rows[0]?.n !== tracks) {
        throw new Error(`PostgreSQL holds ${rows[0]?.n} tracks, the SQLite file ${tracks}: not the same library`);
      }
      await sql`analyze`.execute(pg.db);
      console.log(
        `${tracks} tracks; ${args.clients} clients, ${args.queries} queries per phase; load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
      );
      const n = tracks;
      const library = queriesFrom(lite.sqlite, 0, args.queries);
      const warm = queriesFrom(lite.sqlite, Math.floor(n / 2), args.warmup);
      const p99s: Record<string, number[]> = {};
      for (let round = 1; round <= args.rounds; round++) {
        const unseen = unseenQueries(args.queries, 7 + round);
        for (const engine of ['sqlite', 'postgres'] as const) {
          const search: LocalSearch =
            engine === 'sqlite' ? new CatalogSearch({ db: lite.db, sqlite: lite.sqlite }) : new PgCatalogSearch(pg.db);
          try {
            await load(search, warm, args.clients);
            // Both engines' steady state: the in-memory mirrors built (SQLite's FTS5 and row
            // mirrors; PostgreSQL's rows and terms of the search tables).
            const from = performance.now();
            while (!search.mirrorsWarm && performance.now() - from < 120_000) {
              await load(search, warm.slice(0, 16), 1);
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
            if (search instanceof PgCatalogSearch && search.mirror) {
              const m = search.mirror;
              console.log(
                `postgres mirrors ${m.builds ? `built in ${(m.buildMs / 1000).toFixed(1)} s` : `not built (${String(m.buildError)})`}`,
              );
            }
            search.dropAnswers();
            await load(search, warm, args.clients);
            for (const [phase, queries] of [
              ['library', library],
              ['unseen', unseen],
            ] as const) {
              search.dropAnswers();
              const inMemory = search.answeredInMemory;
              const latencies = await load(search, queries, args.clients);
              const key = `${engine} ${phase}`;
              p99s[key] = [...(p99s[key] ?? []), percentile(latencies, 99)];
              console.log(
                `round ${round} ${engine.padEnd(8)} ${phase.padEnd(7)} ${fmt(latencies)}; misses ranked in memory ${search.answeredInMemory - inMemory}`,
              );
            }
          } finally {
            await search.close();
          }
        }
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      for (const phase of ['library', 'unseen']) {
        const a = median(p99s[`sqlite ${phase}`]);
        const b = median(p99s[`postgres ${phase}`]);
        console.log(
          `${phase}: p99 SQLite ${a.toFixed(2)} ms, PostgreSQL ${b.toFixed(2)} ms, ratio ${(b / a).toFixed(2)} (target ≤ 2)`,
        );
      }
    } finally {
      await pg.close();
      await lite.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
