/**
 * Executes a {@link StreamPlan} on a request/reply. Shared by `/stream/{id}` (signed-in listeners)
 * and `/share/{token}/stream/{id}` (anonymous share viewers).
 */
import { Socket } from 'node:net';
import { Transform } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser } from '../accounts/auth-context.js';
import { Unavailable } from '../shared/errors.js';
import { socketProgress, watchIdle } from './idle-watch.js';
import { serveFile } from './range.js';
import { trackStream } from './stream-metrics.js';
import type { RemoteStreamHandler } from './remote-stream.js';
import type { StreamTrack } from './stream.repository.js';
import type { Listener, StreamService } from './stream.service.js';
import type { ParsedStreamQuery } from './transcode-profiles.js';

export interface StreamResponderDeps {
  service: StreamService;
  remoteHandler: () => RemoteStreamHandler | null;
  /** A client that reads nothing for this long is dropped (sockets.test.ts); long streams are fine. */
  idleTimeoutMs: number;
}

/** Drops a socket on which nothing moved for `ms` (a slow or stalled reader holds no fd forever). */
function armIdleTimeout(reply: FastifyReply, ms: number): void {
  const socket = reply.raw.socket;
  // Injected requests have no socket. After the response, the server's keep-alive timeout applies.
  if (!(socket instanceof Socket)) return;
  const stop = watchIdle(socketProgress(socket), { idleMs: ms });
  reply.raw.once('close', stop);
  reply.raw.once('finish', stop);
}

/** Passes exactly `length` bytes: trims an overlong transcode, pads a short one with zeros. */
function fitToLength(length: number): Transform {
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, callback) {
      const room = length - sent;
      if (room <= 0) return callback();
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      sent += part.length;
      callback(null, part);
    },
    flush(callback) {
      // Decoders skip trailing zero bytes; a player that trusted the estimate sees a clean end.
      while (sent < length) {
        const n = Math.min(64 * 1024, length - sent);
        this.push(Buffer.alloc(n));
        sent += n;
      }
      callback();
    },
  });
}

export async function respondWithStream(
  deps: StreamResponderDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  track: StreamTrack,
  query: ParsedStreamQuery & { estimateContentLength?: boolean },
  listener: Listener,
  user: AuthUser | null,
): Promise<FastifyReply> {
  const plan = await deps.service.plan(track, query, listener);
  const remote = track.source_type !== 'local';
  if (plan.kind === 'file') {
    trackStream(reply, 'direct', remote);
    armIdleTimeout(reply, deps.idleTimeoutMs);
    return serveFile(request, reply, { path: plan.path, contentType: plan.contentType });
  }
  if (plan.kind === 'remote') {
    const handler = deps.remoteHandler();
    if (!handler) {
      throw new Unavailable('This remote track is not cached yet, and remote playback is not enabled on this server.', {
        retryAfterSeconds: 60,
      });
    }
    trackStream(reply, 'remote', true);
    armIdleTimeout(reply, deps.idleTimeoutMs);
    await handler.serveUncached(track, request, reply, user);
    return reply;
  }

  const estimate =
    (query.estimateContentLength ?? listener.preferences.estimateContentLength) ? plan.estimatedBytes : null;
  reply.type(plan.contentType);
  reply.header('accept-ranges', 'none');
  reply.header('cache-control', 'private, no-store');
  reply.header('x-earshot-transcode', `${plan.spec.format};${plan.spec.kbps}kbps`);
  if (estimate !== null) reply.header('content-length', String(estimate));
  // HEAD answers from the plan alone: no ffmpeg is started just to describe the stream.
  if (request.method === 'HEAD') return reply.code(200).send();

  const abort = new AbortController();
  let finished = false;
  reply.raw.once('finish', () => {
    finished = true;
  });
  // 'close' without 'finish' = the client went away mid-stream.
  reply.raw.once('close', () => {
    if (!finished) abort.abort();
  });
  const running = await deps.service.startTranscode(plan, listener, abort.signal);
  // The client left while ffmpeg was starting, or leaves later: kill ffmpeg at once.
  if (abort.signal.aborted) running.abort();
  else abort.signal.addEventListener('abort', () => running.abort(), { once: true });
  trackStream(reply, 'transcoded', remote);
  armIdleTimeout(reply, deps.idleTimeoutMs);
  reply.code(200);
  return reply.send(estimate !== null ? running.output.pipe(fitToLength(estimate)) : running.output);
}
