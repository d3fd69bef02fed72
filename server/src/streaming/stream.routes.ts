/**
 * `GET`/`HEAD /stream/{trackId}` (the one streaming URL for every track), stream tokens for players
 * that cannot send the cookie, and the caller's streaming preferences.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { AuthUser } from '../accounts/auth-context.js';
import { Forbidden, Unauthorized } from '../shared/errors.js';
import { isLanAddress } from './network.js';
import type { StreamPreferencesService } from './preferences.service.js';
import { respondWithStream, type StreamResponderDeps } from './stream-responder.js';
import type { StreamTokens } from './stream-tokens.js';
import type { Listener } from './stream.service.js';
import {
  IdParams,
  MediaResponse,
  StreamPreferencesPatch,
  StreamPreferencesSchema,
  StreamQuerySchema,
  StreamTokenResponse,
  TrackIdParams,
} from './stream.schemas.js';
import { parseStreamQuery } from './transcode-profiles.js';

export interface StreamRoutesOptions extends StreamResponderDeps {
  preferences: StreamPreferencesService;
  tokens: StreamTokens;
  publicUrl?: string;
}

/** The caller of `/stream/`: any signed-in user, or a stream token bound to exactly this track. */
function streamUser(request: FastifyRequest, trackId: string, hadToken: boolean): AuthUser {
  const user = request.user;
  if (!user) {
    throw new Unauthorized(
      hadToken ? 'This stream link is invalid or has expired; ask for a new one.' : 'Sign in to stream music.',
    );
  }
  if (user.via === 'stream-token' && user.trackId !== trackId) {
    throw new Forbidden('This stream token is for another track.');
  }
  return user;
}

export const streamRoutes: FastifyPluginAsyncTypebox<StreamRoutesOptions> = async (app, o) => {
  app.route({
    method: ['GET', 'HEAD'],
    url: '/stream/:trackId',
    // HEAD is handled here (not by Fastify's auto HEAD route) so it never starts ffmpeg.
    exposeHeadRoute: false,
    // Its own authentication: a session, a bearer token or a stream token bound to this track.
    config: { access: 'self' },
    // Per-request info logs would write `?token=` URLs into the log (and a player makes dozens of
    // range requests per song); warnings and errors are still logged.
    logLevel: 'warn',
    schema: {
      tags: ['streaming'],
      summary: 'Stream a track (Range, transcoding, cache)',
      description:
        'The original file with byte ranges, or a transcode (`format`=opus|mp3|aac, `maxBitRate` kbps, `timeOffset` s). ' +
        'Auth: the session cookie, a bearer token, or `?token=` from POST /api/v1/tracks/{id}/stream-token.',
      params: TrackIdParams,
      querystring: StreamQuerySchema,
      response: MediaResponse,
    },
    handler: async (request, reply) => {
      const { trackId } = request.params;
      const user = streamUser(request, trackId, request.query.token !== undefined);
      const query = { ...parseStreamQuery(request.query), estimateContentLength: request.query.estimateContentLength };
      const track = await o.service.findTrack(trackId);
      const listener: Listener = {
        key: user.id,
        preferences: await o.preferences.get(user.id),
        onLan: isLanAddress(request.clientIp),
      };
      return respondWithStream(o, request, reply, track, query, listener, user);
    },
  });

  app.post(
    '/api/v1/tracks/:id/stream-token',
    {
      schema: {
        tags: ['streaming'],
        summary: 'A short-lived stream URL for one track (for external players)',
        params: IdParams,
        response: { 200: StreamTokenResponse },
      },
    },
    async (request) => {
      const user = request.caller;
      const { id } = request.params;
      await o.service.findTrack(id);
      const { token, expiresAt } = o.tokens.issue(user.id, id);
      const url = `${o.publicUrl?.replace(/\/$/, '') ?? ''}/stream/${id}?token=${encodeURIComponent(token)}`;
      return { token, url, expiresAt };
    },
  );

  app.get(
    '/api/v1/me/streaming',
    {
      schema: {
        tags: ['streaming'],
        summary: 'My streaming quality preferences',
        response: { 200: StreamPreferencesSchema },
      },
    },
    async (request) => o.preferences.get(request.caller.id),
  );

  app.put(
    '/api/v1/me/streaming',
    {
      schema: {
        tags: ['streaming'],
        summary: 'Change my streaming quality preferences',
        body: StreamPreferencesPatch,
        response: { 200: StreamPreferencesSchema },
      },
    },
    async (request) => o.preferences.update(request.caller.id, request.body),
  );
};

/** Auth strategy for `?token=` on `/stream/` URLs only (added with `authenticator.use`). */
export function streamTokenStrategy(
  tokens: StreamTokens,
  findUser: (id: string) => Promise<{ id: string; username: string; role: 'admin' | 'user' } | undefined>,
) {
  return async (request: FastifyRequest): Promise<AuthUser | null> => {
    if (!request.url.startsWith('/stream/')) return null;
    const token = (request.query as { token?: unknown } | undefined)?.token;
    const claims = tokens.verify(typeof token === 'string' ? token : undefined);
    if (!claims) return null;
    const user = await findUser(claims.userId);
    if (!user) return null;
    return { id: user.id, username: user.username, role: user.role, via: 'stream-token', trackId: claims.trackId };
  };
}
