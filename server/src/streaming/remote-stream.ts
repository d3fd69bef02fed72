/**
 * The seam to the remote-sources area: `/stream/{id}` for a remote track that is not cached yet is
 * handed to a {@link RemoteStreamHandler} (the caching proxy: one yt-dlp download teed to every
 * listener and to the cache). Cached remote tracks never get here — they are served from
 * `paths.cacheDir/<local_path>` like local files. Wired in main.ts with
 * `streaming.setRemoteHandler(handler)`; without one, such requests get a clear 503.
 *
 * The handler may reuse {@link serveFile} from ./range.js for in-flight or finished downloads.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser } from '../accounts/auth-context.js';
import type { StreamTrack } from './stream.repository.js';

export interface RemoteStreamHandler {
  /**
   * Streams an uncached remote track to this request (and typically caches it). `user` is null for
   * anonymous listeners of a share link. Must stop its work for this listener when the client goes.
   */
  serveUncached(track: StreamTrack, request: FastifyRequest, reply: FastifyReply, user: AuthUser | null): Promise<void>;
}

export { serveFile } from './range.js';
