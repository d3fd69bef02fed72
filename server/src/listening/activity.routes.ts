/** Likes (`/api/v1/likes`), plays (`/api/v1/plays`), history and Discovery. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Id } from '../http/schemas.js';
import { AlbumRef, ArtistRef, PageQuery, pageOf, TrackRef } from '../catalog/dto.js';
import type { ActivityService } from './activity.service.js';

const LikeParams = Type.Object({
  type: Type.Union([Type.Literal('track'), Type.Literal('album'), Type.Literal('artist')]),
  id: Id,
});
const PlayedTrack = Type.Object({ plays: Type.Integer(), track: TrackRef });

export const activityRoutes: FastifyPluginAsyncTypebox<{ activity: ActivityService }> = async (app, { activity }) => {
  app.put(
    '/api/v1/likes/:type/:id',
    {
      schema: {
        tags: ['likes'],
        summary: 'Like a track, album or artist',
        params: LikeParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await activity.setLiked(request.caller, request.params.type, request.params.id, true);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/api/v1/likes/:type/:id',
    {
      schema: {
        tags: ['likes'],
        summary: 'Unlike a track, album or artist',
        params: LikeParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await activity.setLiked(request.caller, request.params.type, request.params.id, false);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/v1/likes/tracks',
    {
      schema: {
        tags: ['likes'],
        summary: 'Your liked tracks, newest like first',
        querystring: PageQuery,
        response: { 200: pageOf(TrackRef) },
      },
    },
    async (request) => activity.likedTracks(request.caller, request.query.limit, request.query.offset),
  );

  app.get(
    '/api/v1/likes/albums',
    {
      schema: {
        tags: ['likes'],
        summary: 'Your liked albums, newest like first',
        querystring: PageQuery,
        response: { 200: pageOf(AlbumRef) },
      },
    },
    async (request) => activity.likedAlbums(request.caller, request.query.limit, request.query.offset),
  );

  app.get(
    '/api/v1/likes/artists',
    {
      schema: {
        tags: ['likes'],
        summary: 'Your liked artists, newest like first',
        querystring: PageQuery,
        response: { 200: pageOf(ArtistRef) },
      },
    },
    async (request) => activity.likedArtists(request.caller, request.query.limit, request.query.offset),
  );

  app.post(
    '/api/v1/plays',
    {
      schema: {
        tags: ['history'],
        summary: 'Report a play; it counts once half the track or 4 minutes were heard (Last.fm rule)',
        body: Type.Object({
          trackId: Id,
          secondsPlayed: Type.Number({ minimum: 0, maximum: 86_400 }),
          client: Type.Optional(Type.String({ maxLength: 100 })),
        }),
        response: { 200: Type.Object({ counted: Type.Boolean() }) },
      },
    },
    async (request) => activity.recordPlay(request.caller, request.body),
  );

  app.get(
    '/api/v1/history',
    {
      schema: {
        tags: ['history'],
        summary: 'Your listening history, newest first',
        querystring: PageQuery,
        response: {
          200: pageOf(
            Type.Object({
              id: Type.Integer(),
              playedAt: Type.Integer(),
              secondsPlayed: Type.Number(),
              track: Type.Union([TrackRef, Type.Null()], { description: 'null when the track was deleted' }),
            }),
          ),
        },
      },
    },
    async (request) => activity.history(request.caller, request.query.limit, request.query.offset),
  );

  app.get(
    '/api/v1/discover',
    {
      schema: {
        tags: ['history'],
        summary: 'Discovery lists: recently added, your most played this week/month, recently played, liked',
        response: {
          200: Type.Object({
            recentlyAdded: Type.Array(TrackRef),
            recentlyAddedAlbums: Type.Array(AlbumRef),
            mostPlayedWeek: Type.Array(PlayedTrack),
            mostPlayedMonth: Type.Array(PlayedTrack),
            recentlyPlayed: Type.Array(TrackRef),
            liked: Type.Array(TrackRef),
          }),
        },
      },
    },
    async (request) => activity.discover(request.caller),
  );
};
