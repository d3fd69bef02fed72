/**
 * `/rest/<method>` and `/rest/<method>.view`, GET (and HEAD) and form POST, for every method in
 * the table. One place renders every answer (envelope.ts) and maps every failure (errors.ts):
 * failures are HTTP 200 with `status="failed"`, except a Range outside the file (HTTP 416, which
 * players expect from a media URL).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { RangeNotSatisfiable } from '../shared/errors.js';
import { authenticate } from './auth.js';
import type { Ctx, SubsonicDeps } from './context.js';
import { SENT } from './context.js';
import { CALLBACK_PATTERN, type Format, type Node, renderBytes } from './envelope.js';
import { ErrorCode, HELP_URL, mapError, missing, SubsonicError } from './errors.js';
import { METHODS, PUBLIC_METHODS } from './methods/index.js';
import { Params } from './params.js';
import { resolveRemoteParams } from './remote.js';

function methodName(raw: string): string {
  if (raw === 'hls.m3u8') return 'hls';
  return raw.endsWith('.view') ? raw.slice(0, -5) : raw;
}

function formatOf(params: Params): { format: Format; callback?: string } {
  const f = params.str('f')?.toLowerCase();
  if (f === 'json') return { format: 'json' };
  if (f === 'jsonp') {
    const callback = params.str('callback');
    // An unusable callback gets plain JSON: nothing the caller wrote is echoed into script.
    return callback && CALLBACK_PATTERN.test(callback) ? { format: 'jsonp', callback } : { format: 'json' };
  }
  return { format: 'xml' };
}

function checkVersion(params: Params): void {
  const v = params.str('v');
  if (!v) throw missing('v');
  const major = Number(/^(\d+)\./.exec(v)?.[1] ?? Number.NaN);
  if (major < 1)
    throw new SubsonicError(
      ErrorCode.ClientMustUpgrade,
      'Incompatible Subsonic REST protocol version. Client must upgrade.',
    );
  if (major > 1)
    throw new SubsonicError(
      ErrorCode.ServerMustUpgrade,
      'Incompatible Subsonic REST protocol version. Server must upgrade.',
    );
  if (!params.str('c')) throw missing('c');
}

export const subsonicRoutes: FastifyPluginAsync<{ deps: SubsonicDeps }> = async (app, { deps }) => {
  const send = (reply: FastifyReply, payload: Node, status: 'ok' | 'failed', params: Params) => {
    const { format, callback } = formatOf(params);
    const out = renderBytes({ status, serverVersion: deps.serverVersion, payload }, format, callback);
    // Binary endpoints may have set media headers before failing.
    reply.removeHeader('content-disposition');
    reply.removeHeader('accept-ranges');
    return reply.code(200).header('cache-control', 'no-store').type(out.contentType).send(out.body);
  };

  const handler = async (request: FastifyRequest<{ Params: { method: string } }>, reply: FastifyReply) => {
    const name = methodName(request.params.method);
    const body = request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : null;
    const params = new Params(request.query as Record<string, unknown>, body);
    try {
      const method = Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
      if (!method) throw new SubsonicError(ErrorCode.NotFound, `Unknown method: ${name.slice(0, 60)}`);
      // What a write made stale goes first (credentials included: a revoked key fails at once).
      await deps.cache.refresh();
      let user = null;
      if (!PUBLIC_METHODS.has(name)) {
        user = await authenticate(
          { credentials: deps.accounts.subsonic, throttle: deps.accounts.throttle, cache: deps.authCache },
          params,
          request.clientIp,
        );
        checkVersion(params);
      }
      const ctx: Ctx = {
        deps,
        user: user ?? { id: '', username: '', role: 'user', via: 'api-key' },
        params,
        client: (params.str('c') ?? '').slice(0, 100),
        request,
        reply,
      };
      if (user) await resolveRemoteParams(ctx);
      const result = await method(ctx);
      if (result === SENT) return reply;
      return send(reply, result, 'ok', params);
    } catch (err) {
      if (reply.sent || reply.raw.headersSent) {
        request.log.warn({ err, method: name }, 'subsonic response failed after it started');
        return reply;
      }
      if (err instanceof RangeNotSatisfiable) throw err;
      const mapped = mapError(err, request.id);
      if (mapped.unexpected) request.log.error({ err, method: name }, 'subsonic method failed');
      else request.log.debug({ method: name, code: mapped.code }, 'subsonic error');
      const error: Node = { code: mapped.code, message: mapped.message };
      if (mapped.code >= 40 && mapped.code <= 44) error.helpUrl = HELP_URL;
      return send(reply, { error }, 'failed', params);
    }
  };

  app.route({
    method: ['GET', 'POST'],
    url: '/rest/:method',
    schema: { hide: true },
    // Subsonic apps sign every request themselves (apiKey or u+t+s/p against app passwords).
    config: { access: 'self' },
    logLevel: 'warn',
    handler,
  });
};
