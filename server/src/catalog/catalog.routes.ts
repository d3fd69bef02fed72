/** Catalog browsing and local search (signed-in users). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  Album,
  AlbumDetailSchema,
  AlbumsQuery,
  Artist,
  ArtistDetailSchema,
  ArtistsQuery,
  GenreSchema,
  IdParams,
  SearchQuery,
  SearchResultSchema,
  Track,
  TrackDetailSchema,
  TracksQuery,
} from './catalog.schemas.js';
import type { CatalogService } from './catalog.service.js';
import { PageQuery, pageOf } from './dto.js';
import type { LocalSearch } from './search-api.js';

export const catalogRoutes: FastifyPluginAsyncTypebox<{ catalog: CatalogService; search: LocalSearch }> = async (
  app,
  { catalog, search },
) => {
  const tags = ['catalog'];

  app.get(
    '/api/v1/artists',
    { schema: { tags, summary: 'List artists', querystring: ArtistsQuery, response: { 200: pageOf(Artist) } } },
    async (request) => {
      const { sort, limit, offset } = request.query;
      return catalog.artists(request.caller, sort, { limit, offset });
    },
  );

  app.get(
    '/api/v1/artists/:id',
    {
      schema: { tags, summary: 'An artist with their albums', params: IdParams, response: { 200: ArtistDetailSchema } },
    },
    async (request) => catalog.artist(request.caller, request.params.id),
  );

  app.get(
    '/api/v1/albums',
    { schema: { tags, summary: 'List albums', querystring: AlbumsQuery, response: { 200: pageOf(Album) } } },
    async (request) => {
      const { sort, genre, artistId, limit, offset } = request.query;
      return catalog.albums(request.caller, { sort, genre, artistId }, { limit, offset });
    },
  );

  app.get(
    '/api/v1/albums/:id',
    {
      schema: {
        tags,
        summary: 'An album with its tracks (by disc, then track number)',
        params: IdParams,
        response: { 200: AlbumDetailSchema },
      },
    },
    async (request) => catalog.album(request.caller, request.params.id),
  );

  app.get(
    '/api/v1/tracks',
    { schema: { tags, summary: 'List tracks', querystring: TracksQuery, response: { 200: pageOf(Track) } } },
    async (request) => {
      const { sort, albumId, artistId, genreId, limit, offset } = request.query;
      return catalog.tracks(request.caller, { sort, albumId, artistId, genreId }, { limit, offset });
    },
  );

  app.get(
    '/api/v1/tracks/:id',
    {
      schema: {
        tags,
        summary: 'A track with all its tags (lyrics, ReplayGain, MusicBrainz ids; file path for admins)',
        params: IdParams,
        response: { 200: TrackDetailSchema },
      },
    },
    async (request) => catalog.track(request.caller, request.params.id),
  );

  app.get(
    '/api/v1/genres',
    {
      schema: {
        tags,
        summary: 'Genres with track and album counts',
        querystring: PageQuery,
        response: { 200: pageOf(GenreSchema) },
      },
    },
    async (request) => catalog.genres(request.caller, request.query),
  );

  app.get(
    '/api/v1/search/local',
    {
      schema: {
        tags: ['search'],
        summary: 'Search the local catalog (diacritics-insensitive, prefix matching, best match first)',
        querystring: SearchQuery,
        response: { 200: SearchResultSchema },
      },
    },
    // Not async: a cached answer is sent in the same turn, without a promise (catalog/README.md).
    (request, reply) => {
      const user = request.caller;
      const { q, limit } = request.query;
      const half = Math.max(1, Math.ceil(limit / 2));
      const limits = { tracks: limit, albums: half, artists: half, genres: Math.max(1, Math.ceil(limit / 4)) };
      // Already JSON (from the mirrors, the reader thread or this route's own response serializer,
      // cached with the results): bytes or a string with a JSON content type are sent as they are.
      const json = search.searchJson(q, user.id, limits, (body) => reply.serialize(body) as string);
      reply.type('application/json; charset=utf-8');
      if (json instanceof Promise) {
        return json.then((body) => {
          reply.send(body as never);
        });
      }
      reply.send(json as never);
    },
  );
};
