/** `/api/v1/playlists`: CRUD, entries (add, remove, move), M3U8 export and import. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { PageQuery, pageOf } from '../catalog/dto.js';
import { Invalid } from '../shared/errors.js';
import { contentDisposition, playlistFileName } from './m3u.js';
import {
  AddTracksBody,
  AddTracksResponse,
  CreatePlaylistBody,
  EntryParams,
  ImportJsonBody,
  ImportResponse,
  MoveBody,
  PlaylistDetailSchema,
  PlaylistIdParams,
  PlaylistSchema,
  UpdatePlaylistBody,
} from './playlists.schemas.js';
import type { PlaylistsService } from './playlists.service.js';

const tags = ['playlists'];
const M3U_TYPES = ['audio/x-mpegurl', 'audio/mpegurl', 'application/vnd.apple.mpegurl', 'application/x-mpegurl'];

export const playlistRoutes: FastifyPluginAsyncTypebox<{ playlists: PlaylistsService }> = async (
  app,
  { playlists },
) => {
  // M3U bodies arrive as text (text/plain is parsed to a string by Fastify already).
  app.addContentTypeParser(M3U_TYPES, { parseAs: 'string', bodyLimit: 5 * 1024 * 1024 }, (_req, body, done) =>
    done(null, body),
  );

  app.get(
    '/api/v1/playlists',
    {
      schema: {
        tags,
        summary: 'Your playlists and everyone’s public ones (yours first)',
        querystring: PageQuery,
        response: { 200: pageOf(PlaylistSchema) },
      },
    },
    async (request) => playlists.list(request.caller, request.query.limit, request.query.offset),
  );

  app.post(
    '/api/v1/playlists',
    {
      schema: {
        tags,
        summary: 'Create a playlist (private unless isPublic)',
        body: CreatePlaylistBody,
        response: { 201: PlaylistSchema },
      },
    },
    async (request, reply) => reply.status(201).send(await playlists.create(request.caller, request.body)),
  );

  app.post(
    '/api/v1/playlists/import',
    {
      schema: {
        tags,
        summary:
          'Create a playlist from M3U/M3U8 (text body, or JSON {name, m3u}); lists the lines that matched nothing',
        description:
          'Entries are matched by path relative to the music folder (or a /stream/<id> URL), then by #EXTINF "Artist - Title".',
        querystring: Type.Object({ name: Type.Optional(Type.String({ maxLength: 400 })) }),
        body: Type.Union([Type.String({ maxLength: 5 * 1024 * 1024 }), ImportJsonBody]),
        response: { 201: ImportResponse },
      },
    },
    async (request, reply) => {
      const user = request.caller;
      const body = request.body;
      const input =
        typeof body === 'string'
          ? { name: request.query.name, m3u: body }
          : { name: body.name ?? request.query.name, m3u: body.m3u };
      if (!input.m3u.trim()) throw new Invalid('The M3U text is empty.');
      return reply.status(201).send(await playlists.importM3u(user, input));
    },
  );

  app.get(
    '/api/v1/playlists/:id',
    {
      schema: {
        tags,
        summary: 'A playlist with its entries',
        params: PlaylistIdParams,
        response: { 200: PlaylistDetailSchema },
      },
    },
    async (request) => playlists.get(request.caller, request.params.id),
  );

  app.patch(
    '/api/v1/playlists/:id',
    {
      schema: {
        tags,
        summary: 'Rename, describe, publish/unpublish or mark offline (owner only)',
        params: PlaylistIdParams,
        body: UpdatePlaylistBody,
        response: { 200: PlaylistSchema },
      },
    },
    async (request) => playlists.update(request.caller, request.params.id, request.body),
  );

  app.delete(
    '/api/v1/playlists/:id',
    {
      schema: {
        tags,
        summary: 'Delete a playlist (owner only)',
        params: PlaylistIdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await playlists.delete(request.caller, request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/v1/playlists/:id/tracks',
    {
      schema: {
        tags,
        summary: 'Add tracks (duplicates allowed) at a position or at the end',
        params: PlaylistIdParams,
        body: AddTracksBody,
        response: { 200: AddTracksResponse },
      },
    },
    async (request) =>
      playlists.addTracks(request.caller, request.params.id, request.body.trackIds, request.body.position),
  );

  app.delete(
    '/api/v1/playlists/:id/tracks/:entryId',
    { schema: { tags, summary: 'Remove one entry', params: EntryParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      await playlists.removeEntry(request.caller, request.params.id, request.params.entryId);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/v1/playlists/:id/move',
    {
      schema: {
        tags,
        summary: 'Move an entry to another position',
        params: PlaylistIdParams,
        body: MoveBody,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await playlists.moveEntry(request.caller, request.params.id, request.body.entryId, request.body.toPosition);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/v1/playlists/:id/export.m3u8',
    {
      schema: {
        tags,
        summary: 'Download the playlist as M3U8 (stream URLs; library-relative paths with ?paths=true, admins only)',
        params: PlaylistIdParams,
        querystring: Type.Object({
          paths: Type.Boolean({
            default: false,
            description: 'Administrators: local files by library-relative path instead of stream URL.',
          }),
        }),
        produces: ['audio/x-mpegurl'],
        response: { 200: Type.String() },
      },
    },
    async (request, reply) => {
      const { name, body } = await playlists.exportM3u(request.caller, request.params.id, {
        paths: request.query.paths,
      });
      return reply
        .type('audio/x-mpegurl; charset=utf-8')
        .header('content-disposition', contentDisposition(playlistFileName(name, 'm3u8')))
        .send(body);
    },
  );
};
