/** Scan control for admins: status, start, live progress (server-sent events), unreadable files. */
import type { ServerResponse } from 'node:http';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAdmin } from '../accounts/auth-context.js';
import { PageQuery, pageOf } from '../catalog/dto.js';
import type { LibraryService } from './library.service.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const Counts = {
  filesTotal: Type.Integer(),
  filesDone: Type.Integer(),
  added: Type.Integer(),
  updated: Type.Integer(),
  moved: Type.Integer(),
  removed: Type.Integer(),
  unreadable: Type.Integer(),
  deferred: Type.Integer({ description: 'files still being written, left for a later scan' }),
};

export const ScanProgressSchema = Type.Object({
  runId: Type.String(),
  kind: Type.Union([Type.Literal('full'), Type.Literal('incremental')]),
  trigger: Type.String(),
  phase: Type.String({ description: 'walk | diff | read | prune | group | done' }),
  filesFound: Type.Integer(),
  ...Counts,
  startedAt: Type.Integer(),
  elapsedMs: Type.Integer(),
});

export const ScanRunSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('full'), Type.Literal('incremental')]),
  state: Type.Union([
    Type.Literal('running'),
    Type.Literal('done'),
    Type.Literal('failed'),
    Type.Literal('interrupted'),
  ]),
  trigger: Type.String(),
  ...Counts,
  phaseMs: Type.Record(Type.String(), Type.Number()),
  error: Nullable(Type.String()),
  startedAt: Type.Integer(),
  finishedAt: Nullable(Type.Integer()),
});

const ScanStatus = Type.Object({
  running: Type.Boolean(),
  progress: Nullable(ScanProgressSchema),
  lastRun: Nullable(ScanRunSchema),
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
    async (request) => {
      requireAdmin(request);
      return library.status();
    },
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
      requireAdmin(request);
      const progress = library.startScan({ full: request.body?.full === true, trigger: 'api' });
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
      requireAdmin(request);
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
      requireAdmin(request);
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
