/**
 * Routes of the remote-sources area: federated search (JSON and NDJSON stream), adding remote
 * items to the catalog, deleting cached copies, offline-playlist progress, and the admin views of
 * the cache and the job queue.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { TrackRef } from '../catalog/dto.js';
import type { Sources } from './module.js';
import {
  CacheSummarySchema,
  IdParams,
  JobsPageSchema,
  JobsQuery,
  OfflineStatusSchema,
  SearchQuery,
  SearchResponseSchema,
  SourcesInfoSchema,
  UpsertRemoteBody,
  UrlPermissionBody,
} from './sources.schemas.js';
import { REMOTE_SOURCES } from './providers/provider.js';

const searchTags = ['search'];
const sourceTags = ['sources'];
const adminTags = ['admin'];

/** Aborts when the client goes away, so a closed search stops its providers' yt-dlp processes. */
function clientGone(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client closed the request'));
  });
  return controller.signal;
}

export const sourcesRoutes: FastifyPluginAsyncTypebox<{ sources: Sources }> = async (app, { sources }) => {
  app.get(
    '/api/v1/search',
    {
      schema: {
        tags: searchTags,
        summary: 'Federated search: your library and every enabled remote source, in one answer',
        description:
          'Local results and each provider run concurrently, each provider under its own timeout. A slow or failing provider shows up as `timeout`/`error` in its own section; local results are never delayed beyond that timeout.',
        querystring: SearchQuery,
        response: { 200: SearchResponseSchema },
      },
    },
    async (request, reply) => {
      const user = request.caller;
      return sources.search.search(request.query.q, request.query.limit, user, clientGone(reply.raw));
    },
  );

  app.get(
    '/api/v1/search/stream',
    {
      schema: {
        tags: searchTags,
        summary: 'Federated search as NDJSON: one line per section as it completes, local first',
        description:
          'Each line is `{"section":"local","local":{…}}` or `{"section":"remote","remote":{provider,status,items…}}` (same shapes as `GET /api/v1/search`).',
        querystring: SearchQuery,
        produces: ['application/x-ndjson'],
        response: { 200: Type.String({ description: 'application/x-ndjson' }) },
      },
    },
    async (request, reply) => {
      const user = request.caller;
      const controller = new AbortController();
      reply.raw.once('close', () => controller.abort(new Error('client closed the request')));
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'application/x-ndjson; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-request-id': request.id,
      });
      try {
        await sources.search.run(
          request.query.q,
          request.query.limit,
          user,
          (section) => {
            if (!reply.raw.destroyed) reply.raw.write(`${JSON.stringify(section)}\n`);
          },
          controller.signal,
        );
      } finally {
        reply.raw.end();
      }
    },
  );

  app.get(
    '/api/v1/sources',
    {
      schema: {
        tags: sourceTags,
        summary: 'Remote sources on this server and what you may do with them',
        response: { 200: SourcesInfoSchema },
      },
    },
    async (request) => {
      const user = request.caller;
      return {
        providers: REMOTE_SOURCES.map((name) => ({ name, enabled: sources.registry.isEnabled(name) })),
        canPlayUrls: await sources.tracks.mayPlayUrls(user),
      };
    },
  );

  app.post(
    '/api/v1/remote/tracks',
    {
      schema: {
        tags: sourceTags,
        summary: 'Add a remote item (a search hit or a URL) to the catalog before playing, liking or adding it',
        description:
          '`{provider, remoteId}` for YouTube/SoundCloud search hits, `{url}` for any http(s) URL (admins and users allowed to play URLs). Returns the existing track when it is already in the catalog (deduplicated by source and remote id).',
        body: UpsertRemoteBody,
        response: { 200: TrackRef, 201: TrackRef },
      },
    },
    async (request, reply) => {
      const user = request.caller;
      const { track, created } = await sources.tracks.upsert(request.body, user);
      return reply.code(created ? 201 : 200).send(track);
    },
  );

  app.delete(
    '/api/v1/tracks/:id/cache',
    {
      schema: {
        tags: sourceTags,
        summary: 'Delete the cached copy of a remote track (admins, or who added it); the track stays',
        params: IdParams,
        response: { 200: TrackRef },
      },
    },
    async (request) => {
      const user = request.caller;
      return sources.tracks.deleteCache(request.params.id, user);
    },
  );

  app.get(
    '/api/v1/playlists/:id/offline',
    {
      schema: {
        tags: sourceTags,
        summary: 'Offline progress of a playlist: remote tracks cached, queued, failed',
        params: IdParams,
        response: { 200: OfflineStatusSchema },
      },
    },
    async (request) => {
      const user = request.caller;
      return sources.offline.status(request.params.id, user);
    },
  );

  app.get(
    '/api/v1/admin/cache',
    {
      config: { access: 'admin' },
      schema: {
        tags: adminTags,
        summary: 'Remote-track cache: size, files, cached tracks by source, job queue',
        response: { 200: CacheSummarySchema },
      },
    },
    async () => {
      const [summary, jobs] = await Promise.all([sources.tracks.cacheSummary(), sources.offline.jobCounts()]);
      return { ...summary, jobs };
    },
  );

  app.get(
    '/api/v1/admin/jobs',
    {
      config: { access: 'admin' },
      schema: {
        tags: adminTags,
        summary: 'Background jobs (offline caching), newest first',
        querystring: JobsQuery,
        response: { 200: JobsPageSchema },
      },
    },
    async (request) => sources.offline.jobsPage(request.query),
  );

  app.get(
    '/api/v1/admin/users/:id/source-permissions',
    {
      config: { access: 'admin' },
      schema: {
        tags: adminTags,
        summary: 'Whether a user may play arbitrary URLs (admins always may)',
        params: IdParams,
        response: { 200: UrlPermissionBody },
      },
    },
    async (request) => {
      return { canPlayUrls: await sources.tracks.urlPermission(request.params.id) };
    },
  );

  app.put(
    '/api/v1/admin/users/:id/source-permissions',
    {
      config: { access: 'admin' },
      schema: {
        tags: adminTags,
        summary: 'Allow or forbid a user to play arbitrary URLs',
        params: IdParams,
        body: UrlPermissionBody,
        response: { 200: UrlPermissionBody },
      },
    },
    async (request) => {
      await sources.tracks.setUrlPermission(request.params.id, request.body.canPlayUrls);
      return { canPlayUrls: request.body.canPlayUrls };
    },
  );
};
