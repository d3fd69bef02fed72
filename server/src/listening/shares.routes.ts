/**
 * Share links. Owner API under `/api/v1/shares`; the public side under `/share/{token}` (page,
 * JSON data, per-track streams with Range, cover) needs no account and dies with the share.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { IdParams } from '../http/schemas.js';
import type { ArtworkService } from '../streaming/artwork.service.js';
import { imageFormatFor, ImageResponse, SizeQuery, sendImage } from '../streaming/artwork.routes.js';
import { isLanAddress } from '../streaming/network.js';
import { DEFAULT_PREFERENCES } from '../streaming/preferences.service.js';
import { respondWithStream, type StreamResponderDeps } from '../streaming/stream-responder.js';
import { MediaResponse, StreamQuerySchema } from '../streaming/stream.schemas.js';
import { parseStreamQuery } from '../streaming/transcode-profiles.js';
import { isTheme, THEME_COOKIE } from '../accounts/ui-preferences.js';
import { renderSharePage } from './shares.page.js';
import { CreateShareBody, ShareData, ShareSchema, TokenParams, TokenTrackParams } from './shares.schemas.js';
import type { SharesService } from './shares.service.js';

const themeOf = (value: string | undefined) => (isTheme(value) ? value : undefined);

export interface ShareRoutesOptions {
  shares: SharesService;
  artwork: ArtworkService;
  stream: StreamResponderDeps;
  publicUrl?: string;
}

export const shareRoutes: FastifyPluginAsyncTypebox<ShareRoutesOptions> = async (app, o) => {
  const origin = o.publicUrl?.replace(/\/$/, '') ?? '';

  app.post(
    '/api/v1/shares',
    {
      schema: {
        tags: ['shares'],
        summary: 'Share a track, album or playlist as a public link',
        body: CreateShareBody,
        response: { 201: ShareSchema },
      },
    },
    async (request, reply) => {
      const share = await o.shares.create(request.caller, request.body);
      return reply.code(201).send(share);
    },
  );

  app.get(
    '/api/v1/shares',
    {
      schema: {
        tags: ['shares'],
        summary:
          'My share links, and the links others made of my things (my playlists; tracks and albums for admins). Revoked ones are gone; expired ones are flagged',
        response: { 200: Type.Object({ items: Type.Array(ShareSchema) }) },
      },
    },
    async (request) => ({ items: await o.shares.list(request.caller) }),
  );

  app.delete(
    '/api/v1/shares/:id',
    {
      schema: {
        tags: ['shares'],
        summary:
          'Revoke a share link (its page and streams stop working at once): my own, one of my playlists, or (admins) of a track or album',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await o.shares.revoke(request.caller, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/share/:token',
    {
      logLevel: 'warn', // the URL carries the share token
      // Anyone holding the link: the token is the capability, checked by the service.
      config: { access: 'public' },
      schema: {
        tags: ['shares'],
        summary: 'Public share page (HTML)',
        params: TokenParams,
        response: { 200: Type.String({ description: 'text/html' }) },
      },
    },
    async (request, reply) => {
      // HEAD (link checkers, previews probing) does not count as a view.
      const view = await o.shares.view(request.params.token, request.method === 'GET');
      const signedIn = request.user !== null && request.user.via !== 'stream-token';
      reply.header('cache-control', 'private, no-store');
      return reply.type('text/html; charset=utf-8').send(
        renderSharePage(view, {
          token: request.params.token,
          origin,
          signedIn,
          theme: themeOf(request.cookies[THEME_COOKIE]),
        }),
      );
    },
  );

  app.get(
    '/share/:token/data',
    {
      logLevel: 'warn', // the URL carries the share token
      // Anyone holding the link: the token is the capability, checked by the service.
      config: { access: 'public' },
      schema: {
        tags: ['shares'],
        summary: 'Public share contents (JSON)',
        params: TokenParams,
        response: { 200: ShareData },
      },
    },
    async (request, reply) => {
      const base = `/share/${request.params.token}`;
      const view = await o.shares.view(request.params.token, false);
      reply.header('cache-control', 'private, no-store');
      return {
        kind: view.kind,
        title: view.title,
        subtitle: view.subtitle,
        coverUrl: `${base}/cover`,
        expiresAt: view.expiresAt,
        tracks: view.tracks.map((t) => ({ ...t, streamUrl: `${base}/stream/${t.id}` })),
      };
    },
  );

  app.route({
    method: ['GET', 'HEAD'],
    url: '/share/:token/stream/:trackId',
    exposeHeadRoute: false,
    logLevel: 'warn', // the URL carries the share token
    // Anyone holding the link: the token is the capability, checked by the service.
    config: { access: 'public' },
    schema: {
      tags: ['shares'],
      summary: 'Stream a track of a public share (Range; optional transcoding)',
      params: TokenTrackParams,
      querystring: StreamQuerySchema,
      response: MediaResponse,
    },
    handler: async (request, reply) => {
      const { token, trackId } = request.params;
      const share = await o.shares.streamableTrack(token, trackId);
      const query = { ...parseStreamQuery(request.query), estimateContentLength: request.query.estimateContentLength };
      const track = await o.stream.service.findTrack(trackId);
      // Anonymous listeners share one concurrency bucket per link, with the default quality.
      const listener = {
        key: `share:${share.id}`,
        preferences: DEFAULT_PREFERENCES,
        onLan: isLanAddress(request.clientIp),
      };
      return respondWithStream(o.stream, request, reply, track, query, listener, null);
    },
  });

  app.get(
    '/share/:token/cover',
    {
      logLevel: 'warn', // the URL carries the share token
      // Anyone holding the link: the token is the capability, checked by the service.
      config: { access: 'public' },
      schema: {
        tags: ['shares'],
        summary: 'Cover image of a public share',
        params: TokenParams,
        querystring: SizeQuery,
        response: ImageResponse,
      },
    },
    async (request, reply) => {
      const view = await o.shares.view(request.params.token, false);
      const format = imageFormatFor(request);
      const size = request.query.size;
      const image =
        view.kind === 'album' && view.albumId
          ? await o.artwork.albumCover(view.albumId, size, format)
          : view.kind === 'track' && view.coverTrackId
            ? await o.artwork.trackCover(view.coverTrackId, size, format)
            : await o.artwork.placeholder(view.share.item_id, view.title, size, format);
      // Short private caching: the image must stop being reachable soon after the link dies.
      return sendImage(request, reply, image, 'private, max-age=300');
    },
  );
};
