/**
 * Scan control for admins: status, start, live progress (server-sent events), unreadable files;
 * and the library overview every signed-in user sees (so the home page can say why it is empty).
 */
import type { ServerResponse } from 'node:http';
import { Type } from '@sinclair/typebox';
import { Nullable } from '../http/schemas.js';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PageQuery, pageOf } from '../catalog/dto.js';
import type { LibraryService } from './library.service.js';
import { ScanProgressSchema, ScanRunSchema } from './scan/progress.js';

const ScanStatus = Type.Object({
  running: Type.Boolean(),
  progress: Nullable(ScanProgressSchema),
  lastRun: Nullable(ScanRunSchema),
  unreadable: Type.Integer({ description: 'files in the music folder that cannot be read now' }),
});

const LibraryOverview = Type.Object({
  tracks: Type.Integer({ description: 'tracks from the music folder' }),
  unreadable: Type.Integer({ description: 'files in the music folder the scanner could not read' }),
  scanning: Type.Boolean(),
});

const ScanError = Type.Object({
  path: Type.String({ description: 'relative to the music folder' }),
  reason: Type.String(),
  size: Type.Integer(),
  mtime: Type.Integer(),
  seenAt: Type.Integer(),
});

export const scanRoutes: FastifyPluginAsyncTypebox<{ library: LibraryService }> = async (app, { library }) => {
  // Open event streams end when the server shuts down (they would otherwise hold it until the deadline).
  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });
  app.get(
    '/api/v1/scan',
    {
      schema: {
        tags: ['library'],
        summary: 'Scan status and the last run summary (admin)',
        response: { 200: ScanStatus },
      },
    },
    async () => library.status(),
  );

  app.get(
    '/api/v1/library/status',
    {
      // The scan routes are admin-only; this overview is for every signed-in user (the home page).
      config: { access: 'user' },
      schema: {
        tags: ['library'],
        summary: 'How many local tracks there are and how many files could not be read (any signed-in user)',
        response: { 200: LibraryOverview },
      },
    },
    async () => library.overview(),
  );

  app.post(
    '/api/v1/scan',
    {
      schema: {
        tags: ['library'],
        summary: 'Start a library scan (admin); 409 while one runs',
        body: Type.Optional(Type.Object({ full: Type.Optional(Type.Boolean({ description: 're-read every file' })) })),
        response: { 202: ScanProgressSchema },
      },
    },
    async (request, reply) => {
      const progress = await library.startScan({ full: request.body?.full === true, trigger: 'api' });
      return reply.status(202).send(progress);
    },
  );

  app.get(
    '/api/v1/scan/errors',
    {
      schema: {
        tags: ['library'],
        summary: 'Files the scanner could not read, with the reason (admin)',
        querystring: PageQuery,
        response: { 200: pageOf(ScanError) },
      },
    },
    async (request) => {
      return library.errors(request.query);
    },
  );

  app.get(
    '/api/v1/scan/events',
    {
      schema: {
        tags: ['library'],
        summary: 'Scan progress as server-sent events (admin): `progress` events, then `done` with the summary',
        produces: ['text/event-stream'],
        response: { 200: Type.String({ description: 'text/event-stream' }) },
      },
    },
    async (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-content-type-options': 'nosniff',
        'x-accel-buffering': 'no',
      });
      streams.add(res);
      const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      const status = await library.status();
      send('status', status);
      const unsubscribe = library.scanner.onProgress((p, final) => send(final ? 'done' : 'progress', p));
      const ping = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      ping.unref();
      const close = () => {
        streams.delete(res);
        clearInterval(ping);
        unsubscribe();
      };
      request.raw.on('close', close);
      res.on('close', close);
    },
  );
};
