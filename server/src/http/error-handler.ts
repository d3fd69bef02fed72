/**
 * The one HTTP error mapper: domain errors → RFC 9457 problem JSON with their status and code;
 * validation errors → 400 listing the fields; anything unexpected → 500 with only the request id
 * (the stack and message go to the log, never to the client).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError } from '../shared/errors.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  requestId?: string;
  errors?: { field: string; message: string }[];
  [extra: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  421: 'Misdirected Request',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function problem(status: number, code: string, detail?: string, extra: Record<string, unknown> = {}): Problem {
  return { type: 'about:blank', title: TITLES[status] ?? 'Error', status, code, detail, ...extra };
}

function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.status(body.status).type('application/problem+json; charset=utf-8').send(body);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const requestId = request.id;
    if (isDomainError(error)) {
      if (error.headers) reply.headers(error.headers);
      if (error.status >= 500) request.log.warn({ err: error }, 'request failed: %s', error.message);
      const extra = { requestId, ...(error.details ?? {}) };
      return sendProblem(reply, problem(error.status, error.code, error.message, extra));
    }
    const fe = error as FastifyError;
    if (fe.validation) {
      const errors = fe.validation.map((v) => ({
        field: (
          v.instancePath ||
          (v.params as { missingProperty?: string })?.missingProperty ||
          fe.validationContext ||
          ''
        )
          .toString()
          .replace(/^\//, '')
          .replace(/\//g, '.'),
        message: v.message ?? 'is invalid',
      }));
      const detail = `Invalid ${fe.validationContext ?? 'request'}: ${errors.map((e) => `${e.field || 'value'} ${e.message}`).join('; ')}`;
      return sendProblem(reply, problem(400, 'invalid', detail, { requestId, errors }));
    }
    const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad JSON, unsupported media type, body too large): their messages are safe.
      return sendProblem(reply, problem(status, fe.code?.toLowerCase() ?? 'bad_request', fe.message, { requestId }));
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(
      reply,
      problem(500, 'internal', 'Something went wrong on the server. The log has details under this request id.', {
        requestId,
      }),
    );
  });

  app.setNotFoundHandler((request, reply) => {
    sendProblem(reply, problem(404, 'not_found', `No route for ${request.method} ${request.url.split('?')[0]}.`));
  });
}
