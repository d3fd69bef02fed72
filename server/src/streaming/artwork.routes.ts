/**
 * Cover art: `GET /api/v1/artwork/{id}` (content-addressed, so cached forever), and the album /
 * track cover URLs that fall back to a generated placeholder.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { IdParams, MAX_OFFSET } from '../http/schemas.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ArtworkService, ImageFormat, RenderedImage } from './artwork.service.js';

export const SizeQuery = Type.Object({
  size: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_OFFSET,
      description: 'Longest side in pixels; clamped to the source and 1200.',
    }),
  ),
});
export const ImageResponse = {
  200: Type.String({ format: 'binary', description: 'WebP (or JPEG when WebP is not accepted)' }),
  304: Type.Null({ description: 'Not modified' }),
};

/** WebP for clients that list it (every current browser does); JPEG for everything else. */
export function imageFormatFor(request: FastifyRequest): ImageFormat {
  return request.headers.accept?.includes('image/webp') ? 'webp' : 'jpeg';
}

export function sendImage(request: FastifyRequest, reply: FastifyReply, image: RenderedImage, cacheControl: string) {
  reply.header('etag', image.etag);
  reply.header('cache-control', cacheControl);
  reply.header('vary', 'Accept');
  const inm = request.headers['if-none-match'];
  if (inm?.split(',').some((t) => t.trim() === image.etag)) return reply.code(304).send();
  return reply.type(image.contentType).send(image.data);
}

export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Album/track cover URLs are not content-addressed: the art may change after a rescan. */
const REVALIDATE = 'private, max-age=3600';

export const artworkRoutes: FastifyPluginAsyncTypebox<{ artwork: ArtworkService }> = async (app, o) => {
  app.get(
    '/api/v1/artwork/:id',
    {
      schema: {
        tags: ['artwork'],
        summary: 'Cover art, resized',
        params: IdParams,
        querystring: SizeQuery,
        response: ImageResponse,
      },
    },
    async (request, reply) => {
      const image = await o.artwork.artwork(request.params.id, request.query.size, imageFormatFor(request));
      return sendImage(request, reply, image, IMMUTABLE);
    },
  );

  app.get(
    '/api/v1/albums/:id/cover',
    {
      schema: {
        tags: ['artwork'],
        summary: "An album's cover, or a generated placeholder",
        params: IdParams,
        querystring: SizeQuery,
        response: ImageResponse,
      },
    },
    async (request, reply) => {
      const image = await o.artwork.albumCover(request.params.id, request.query.size, imageFormatFor(request));
      return sendImage(request, reply, image, REVALIDATE);
    },
  );

  app.get(
    '/api/v1/tracks/:id/cover',
    {
      schema: {
        tags: ['artwork'],
        summary: "A track's cover (its own, its album's, or a generated placeholder)",
        params: IdParams,
        querystring: SizeQuery,
        response: ImageResponse,
      },
    },
    async (request, reply) => {
      const image = await o.artwork.trackCover(request.params.id, request.query.size, imageFormatFor(request));
      return sendImage(request, reply, image, REVALIDATE);
    },
  );
};
