/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: DB reachable, schema current). */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { pendingMigrations } from '../db/migrate.js';

const Check = Type.Object({ name: Type.String(), ok: Type.Boolean(), detail: Type.Optional(Type.String()) });
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
  checks: Type.Array(Check),
});

export const healthRoutes: FastifyPluginAsyncTypebox<{ db: Db; version: string }> = async (app, { db, version }) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['system'],
        summary: 'Liveness: the process is up',
        response: {
          200: Type.Object({ status: Type.Literal('ok'), version: Type.String(), uptimeSeconds: Type.Number() }),
        },
      },
    },
    async () => ({ status: 'ok' as const, version, uptimeSeconds: Math.round(process.uptime()) }),
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
      const checks: { name: string; ok: boolean; detail?: string }[] = [];
      try {
        await sql`select 1`.execute(db);
        checks.push({ name: 'database', ok: true });
        const pending = await pendingMigrations(db);
        checks.push(
          pending.length === 0
            ? { name: 'migrations', ok: true }
            : { name: 'migrations', ok: false, detail: `${pending.length} pending: ${pending.join(', ')}` },
        );
      } catch {
        checks.push({ name: 'database', ok: false, detail: 'The database cannot be reached.' });
      }
      const ready = checks.every((c) => c.ok);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
    },
  );
};
