/** `GET /system/storage` (exact path, as the spec asks): summary for users, with paths for admins. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { isAdmin } from '../accounts/auth-context.js';
import type { StorageService } from './storage.service.js';
import { StorageReportSchema } from './storage.schemas.js';

export const storageRoutes: FastifyPluginAsyncTypebox<{ storage: StorageService }> = async (app, { storage }) => {
  app.get(
    '/system/storage',
    {
      schema: {
        tags: ['system'],
        summary:
          'Used and available bytes of the library, cache and database volumes; cache and DB sizes; track counts',
        description: 'Every signed-in user gets the figures; administrators also get the folder paths.',
        response: { 200: StorageReportSchema },
      },
    },
    async (request) => {
      const user = request.caller;
      const report = await storage.report();
      if (isAdmin(user)) return report;
      const { path: _l, ...library } = report.library;
      const { path: _c, ...cache } = report.cache;
      const { path: _d, ...database } = report.database;
      return { ...report, library, cache, database };
    },
  );
};
