/**
 * The transparent caching proxy behind `/stream/{id}` for remote tracks that are not cached yet
 * (the streaming area's {@link RemoteStreamHandler}). Every listener of a track joins one
 * download; bytes reach the listener while they are being saved.
 *
 * Range during an in-flight download (the total size is unknown until yt-dlp finishes):
 *  - no Range, or a range starting at 0 (what `<audio>` sends first) → 200 with the whole stream,
 *    from the start, following the download live (no Content-Length);
 *  - `bytes=S-[E]` with S > 0 → wait until byte S is written (or the download ends). If the file
 *    is complete by then, it is served by the normal file path (exact 206 with the total size);
 *    otherwise 206 with the bytes already on disk, `Content-Range: bytes S-L/*` (RFC 9110 allows
 *    `*` for an unknown complete length), and the player asks again for the rest;
 *  - anything else (multi-range, garbage) → treated as no Range (RFC 9110 lets a server ignore it).
 * Failure before the first byte → 502 problem JSON (503 when the server itself stopped it);
 * failure after headers were sent → the response is cut (the client sees a truncated transfer).
 */
import { join } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser } from '../../accounts/auth-context.js';
import { BadGateway, NotFound, Unavailable } from '../../shared/errors.js';
import { audioContentType } from '../../streaming/media-files.js';
import type { RemoteStreamHandler } from '../../streaming/remote-stream.js';
import { serveFile } from '../../streaming/range.js';
import type { StreamTrack } from '../../streaming/stream.repository.js';
import type { RemoteTracksRepository } from '../remote-tracks.repository.js';
import type { DownloadHub } from './download-hub.js';
import { DownloadFailed, type RemoteDownload } from './remote-download.js';

/** Single `bytes=S-` / `bytes=S-E` range, or null. */
export function parseSingleRange(header: string | undefined): { start: number; end?: number } | null {
  if (!header) return null;
  const m = /^\s*bytes=(\d{1,15})-(\d{0,15})\s*$/.exec(header);
  if (!m) return null;
  const start = Number(m[1]);
  const end = m[2] === '' ? undefined : Number(m[2]);
  if (end !== undefined && end < start) return null;
  return { start, end };
}

export function toHttpError(err: unknown): Error {
  if (err instanceof DownloadFailed) {
    return err.local
      ? new Unavailable(`This remote track cannot be played right now: ${err.message}`, { retryAfterSeconds: 30 })
      : new BadGateway(`The remote source failed: ${err.message}`);
  }
  return err as Error;
}

export class CachingProxy implements RemoteStreamHandler {
  constructor(
    private readonly hub: DownloadHub,
    private readonly repo: RemoteTracksRepository,
    private readonly cacheDir: string,
  ) {}

  async serveUncached(
    track: StreamTrack,
    request: FastifyRequest,
    reply: FastifyReply,
    user: AuthUser | null,
  ): Promise<void> {
    const row = await this.repo.findById(track.id);
    if (!row) throw new NotFound('track', track.id);
    if (row.is_cached === 1 && row.local_path) {
      await this.serveCached(request, reply, row.local_path, row.format);
      return;
    }
    if (request.method === 'HEAD' && !this.hub.current(row.id)) {
      // Describing the stream must not start a download (a HEAD flood would spawn yt-dlp).
      reply
        .header('x-earshot-cache', 'miss')
        .header('accept-ranges', 'bytes')
        .header('cache-control', 'private, no-store');
      reply.type(audioContentType(row.format)).code(200).send();
      return;
    }
    const dl = this.hub.join(row, { kind: 'listener', userId: user?.id ?? null });
    const release = dl.hold();
    reply.raw.once('close', release);
    try {
      await this.serveFromDownload(dl, request, reply);
    } catch (err) {
      release();
      throw toHttpError(err);
    }
  }

  private async serveCached(
    request: FastifyRequest,
    reply: FastifyReply,
    localPath: string,
    format: string | null,
  ): Promise<void> {
    reply.header('x-earshot-cache', 'hit');
    await serveFile(request, reply, {
      path: join(this.cacheDir, localPath),
      contentType: audioContentType(format ?? localPath),
    });
  }

  private async serveFromDownload(dl: RemoteDownload, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const range = parseSingleRange(request.headers.range);
    const start = range && range.start > 0 ? range.start : 0;
    await dl.waitFor(start);
    if (dl.state === 'done' && dl.location) {
      // Finished while we waited: exact Range/ETag answers from the final file.
      await this.serveCached(request, reply, dl.location.relative, dl.ext);
      return;
    }
    reply.header('x-earshot-cache', 'miss');
    reply.header('cache-control', 'private, no-store');
    reply.header('accept-ranges', 'bytes');
    reply.type(audioContentType(dl.ext));
    if (start === 0) {
      reply.code(200);
      if (request.method === 'HEAD') return void reply.send();
      await reply.send(dl.reader(0));
      return;
    }
    const last = Math.min(dl.written - 1, range?.end ?? Number.MAX_SAFE_INTEGER);
    reply.code(206);
    reply.header('content-range', `bytes ${start}-${last}/*`);
    reply.header('content-length', String(last - start + 1));
    if (request.method === 'HEAD') return void reply.send();
    await reply.send(dl.reader(start, last));
  }
}
