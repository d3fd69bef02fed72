/**
 * What the faces (the JSON API's routes, Subsonic, federated search) use of local search, on
 * either engine: `CatalogSearch` (search.ts, FTS5 and in-memory mirrors) on SQLite,
 * `PgCatalogSearch` (search-pg.ts) on PostgreSQL.
 */
import type { CatalogSearch } from './search.js';

export type LocalSearch = Pick<
  CatalogSearch,
  | 'search'
  | 'searchIds'
  | 'searchJson'
  | 'dropAnswers'
  | 'close'
  | 'mirrorsWarm'
  | 'answeredInMemory'
  | 'readerAnswered'
>;
