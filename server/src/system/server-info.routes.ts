/** `GET /api/v1/admin/server`: version, uptime, runtime, external tools and counts (admins). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { AdminService } from './admin.service.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const ServerInfoSchema = Type.Object({
  version: Type.String(),
  startedAt: Type.Integer(),
  uptimeSeconds: Type.Integer(),
  node: Type.String(),
  platform: Type.String(),
  publicUrl: Nullable(Type.String()),
  tools: Type.Array(
    Type.Object({
      name: Type.String(),
      available: Type.Boolean(),
      version: Nullable(Type.String()),
      /** Runs but is a problem (e.g. a yt-dlp release too old for today's sites); null when fine. */
      warning: Nullable(Type.String()),
      needed: Type.String(),
      install: Type.String(),
    }),
  ),
  counts: Type.Object({
    users: Type.Integer(),
    tracks: Type.Integer(),
    albums: Type.Integer(),
    artists: Type.Integer(),
    playlists: Type.Integer(),
  }),
});

export const serverInfoRoutes: FastifyPluginAsyncTypebox<{ admin: AdminService }> = async (app, { admin }) => {
  app.get(
    '/api/v1/admin/server',
    {
      schema: {
        tags: ['admin'],
        summary: 'Version, uptime, runtime, ffmpeg/yt-dlp availability and counts',
        response: { 200: ServerInfoSchema },
      },
    },
    async () => admin.serverInfo(),
  );
};
