/**
 * Streaming measurements (shared/telemetry.ts): streams in flight and bytes sent by kind, remote
 * cache hits and misses, transcode slots. Recorded from the reply's own events so that every exit
 * (finished, client gone, error) ends the stream exactly once.
 */
import type { FastifyReply } from 'fastify';
import type { Lifecycle } from '../shared/lifecycle.js';
import { telemetry } from '../shared/telemetry.js';
import type { TranscodeLimiter } from './transcode-limiter.js';

export type StreamKind = 'direct' | 'transcoded' | 'remote';

/**
 * Counts one stream from now until its response closes. `remote`: the track comes from a remote
 * source; its cache result is `hit` unless the reply says otherwise (`x-earshot-cache: miss`).
 */
export function trackStream(reply: FastifyReply, kind: StreamKind, remote: boolean): void {
  if (reply.request.method === 'HEAD') return;
  const socket = reply.raw.socket;
  const before = socket?.bytesWritten ?? 0;
  telemetry.add('earshot_streams_total', { kind });
  telemetry.add('earshot_streams_active', { kind });
  reply.raw.once('close', () => {
    telemetry.add('earshot_streams_active', { kind }, -1);
    const bytes = Math.max(0, (socket?.bytesWritten ?? 0) - before);
    telemetry.add('earshot_stream_bytes_total', { kind }, bytes);
    if (remote) {
      const result = reply.getHeader('x-earshot-cache') === 'miss' ? 'miss' : 'hit';
      telemetry.add('earshot_remote_cache_requests_total', { result });
      telemetry.add('earshot_remote_cache_bytes_total', { result }, bytes);
    }
  });
}

/** Transcode slots in use and waiting, read when Prometheus scrapes. */
export function registerStreamingGauges(limiter: TranscodeLimiter, lifecycle: Lifecycle): void {
  const off = [
    telemetry.gauge('earshot_transcodes_running', () => limiter.active),
    telemetry.gauge('earshot_transcodes_queued', () => limiter.waiting),
  ];
  lifecycle.onStop('streaming gauges', () => {
    for (const f of off) f();
  });
}
