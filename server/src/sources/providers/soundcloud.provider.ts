/**
 * SoundCloud through yt-dlp: `scsearchN:` (flat) for search, the API track URL for resolving and
 * playing. The real service is unreachable from the test machine (see sources/README.md).
 */
import { mapYtDlpInfo, mapYtDlpSearch } from '../ytdlp/mapping.js';
import type { YtDlpRunner } from '../ytdlp/runner.js';
import type { PlayTarget, RemoteMetadata, RemoteProvider } from './provider.js';

const TRACK_ID = /^\d{1,20}$/;

/** Search text becomes part of one argument after `--`; newlines and NULs are dropped, length bounded. */
export function searchKey(prefix: 'scsearch' | 'ytsearch', query: string, limit: number): string {
  const clean = query
    .replace(/[\0\r\n]+/g, ' ')
    .trim()
    .slice(0, 200);
  return `${prefix}${Math.max(1, Math.min(limit, 50))}:${clean}`;
}

export class SoundCloudProvider implements RemoteProvider {
  readonly name = 'soundcloud' as const;

  constructor(
    private readonly ytdlp: YtDlpRunner,
    private readonly timeoutMs: number,
  ) {}

  async search(query: string, limit: number, signal: AbortSignal): Promise<RemoteMetadata[]> {
    const raw = await this.ytdlp.json('search', searchKey('scsearch', query, limit), {
      signal,
      timeoutMs: this.timeoutMs,
    });
    return mapYtDlpSearch(raw, 'soundcloud').slice(0, limit);
  }

  async resolve(remoteId: string, signal?: AbortSignal): Promise<RemoteMetadata> {
    const { target } = await this.playTarget(remoteId);
    const info = await this.ytdlp.json('json', target, { signal, timeoutMs: this.timeoutMs });
    return { ...mapYtDlpInfo(info), source: 'soundcloud', remoteId };
  }

  async playTarget(remoteId: string): Promise<PlayTarget> {
    if (!TRACK_ID.test(remoteId)) throw new Error(`not a SoundCloud track id: ${remoteId.slice(0, 40)}`);
    return { target: `https://api.soundcloud.com/tracks/${remoteId}` };
  }
}
