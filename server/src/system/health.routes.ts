/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: DB reachable, schema current). */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { HealthService } from './health.service.js';

const Check = Type.Object({ name: Type.String(), ok: Type.Boolean(), detail: Type.Optional(Type.String()) });
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
  checks: Type.Array(Check),
});

export const healthRoutes: FastifyPluginAsyncTypebox<{
  health: HealthService;
  version: string;
  isLeader: () => boolean;
}> = async (app, { health, version, isLeader }) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['system'],
        summary: 'Liveness: the process is up',
        response: {
          200: Type.Object({
            status: Type.Literal('ok'),
            version: Type.String(),
            uptimeSeconds: Type.Number(),
            role: Type.Union([Type.Literal('leader'), Type.Literal('follower')], {
              description:
                'leader: this replica runs library scans and the folder watcher (always, on SQLite); follower: another replica does.',
            }),
          }),
        },
      },
    },
    async () => ({
      status: 'ok' as const,
      version,
      uptimeSeconds: Math.round(process.uptime()),
      role: isLeader() ? ('leader' as const) : ('follower' as const),
    }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['system'],
        summary: 'Readiness: database reachable and migrated',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const { ready, checks } = await health.readiness();
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
    },
  );
};
