/**
 * Builds the catalog area: browsing (JSON API), local search and the browse queries other faces
 * (Subsonic) share, plus their routes. main.ts calls {@link createCatalog} once.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AnyDatabase } from '../db/engine.js';
import { accessScope } from '../http/access.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import { BrowseRepository } from './browse.repository.js';
import { CatalogRepository } from './catalog.repository.js';
import { catalogRoutes } from './catalog.routes.js';
import { CatalogService } from './catalog.service.js';
import type { LikedFlags } from './liked.js';
import { CatalogSearch } from './search.js';
import type { LocalSearch } from './search-api.js';
import { PgCatalogSearch } from './search-pg.js';

export interface CatalogDeps {
  database: AnyDatabase;
  lifecycle: Lifecycle;
  /** The caller's likes on listed items (implemented by the listening area). */
  liked: LikedFlags;
}

export interface Catalog {
  service: CatalogService;
  /** Local full-text search (also the federated search's local provider). */
  search: LocalSearch;
  /** Browse queries shared with the Subsonic face (albums by genre, by year, …). */
  browse: BrowseRepository;
  /** `/api/v1/artists|albums|tracks|genres|search/local`, for signed-in users. */
  routes: FastifyPluginAsync;
}

export function createCatalog(deps: CatalogDeps): Catalog {
  const { database } = deps;
  const service = new CatalogService(new CatalogRepository(database.db), deps.liked);
  // FTS5 and the in-memory mirrors on SQLite; PostgreSQL's full-text search on PostgreSQL.
  const search: LocalSearch =
    database.engine === 'postgres'
      ? new PgCatalogSearch(database.db)
      : new CatalogSearch({ db: database.db, sqlite: database.sqlite });
  deps.lifecycle.onStop('search reader', () => search.close());
  return {
    service,
    search,
    browse: new BrowseRepository(database.db),
    routes: async (app) => {
      await app.register(accessScope('user', catalogRoutes), { catalog: service, search });
    },
  };
}
