/**
 * The search reader thread: ranks FTS queries on its own read-only connection (WAL lets it read
 * beside the server's writer), so ranking thousands of prefix matches never holds the event loop
 * that serves every other request. Answers go back as JSON bytes (transferred, not copied): the
 * main thread neither clones nor serializes them. Started on demand by CatalogSearch, stopped when search is idle.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import type { RankedJson } from './search-json.js';
import type { Sizes } from './search-ranker.js';
import { SqlRanker } from './search-sql-plan.js';

export interface SearchWorkerData {
  path: string;
  /** Page cache of the reader's connection, KiB. */
  cacheKib: number;
}
export interface RankRequest {
  id: number;
  match: string;
  sizes: Sizes;
}
export type RankReply = { id: number; ranked: RankedJson } | { id: number; error: string } | 'ready';

const { path, cacheKib } = workerData as SearchWorkerData;
const sqlite = new SQLite(path, { readonly: true, fileMustExist: true });
sqlite.pragma('busy_timeout = 5000');
sqlite.pragma(`cache_size = -${Math.max(512, Math.floor(cacheKib))}`);
const ranker = new SqlRanker(sqlite);
// data_version moves whenever another connection (the server's writer, the CLI) commits; only
// then is the catalog version (migration 0008) read again: the ranker's kept match counts
// depend on the catalog alone.
const dataVersion = sqlite.prepare('select data_version as v from pragma_data_version').pluck();
const catalogVersion = sqlite.prepare('select version from catalog_version where id = 1').pluck();
let seenData = -1;
let catalog = '';
const currentCatalog = (): string => {
  const v = dataVersion.get() as number;
  if (v !== seenData) {
    seenData = v;
    catalog = String(catalogVersion.get());
  }
  return catalog;
};

// One read transaction per query: one snapshot for every section, and the WAL read lock taken once
// (taking it costs more than a row lookup).
const rankJson = sqlite.transaction((match: string, sizes: Sizes) => ranker.rankJson(match, sizes, currentCatalog()));

const port = parentPort;
if (!port) throw new Error('search-worker runs as a worker thread');
port.on('message', ({ id, match, sizes }: RankRequest) => {
  try {
    // JSON bytes, transferred (not copied) and sent as they are by the route.
    const ranked = rankJson(match, sizes);
    port.postMessage({ id, ranked } satisfies RankReply, [ranked.json.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ id, error: err instanceof Error ? err.message : String(err) } satisfies RankReply);
  }
});
port.postMessage('ready' satisfies RankReply);
