/**
 * Any http(s) URL yt-dlp can play (admins and users with `can_play_urls`). The URL is checked —
 * scheme, shape, every resolved address — before yt-dlp runs, and again by the egress proxy on
 * every connection yt-dlp makes (redirects included). The remote id of a `url` track is the URL.
 */
import { type AddressPolicy, checkSourceUrl, type LookupFn, parseSourceUrl } from '../net/address-policy.js';
import { mapYtDlpInfo } from '../ytdlp/mapping.js';
import type { YtDlpRunner } from '../ytdlp/runner.js';
import type { PlayTarget, RemoteMetadata, RemoteProvider } from './provider.js';

export class UrlProvider implements RemoteProvider {
  readonly name = 'url' as const;

  constructor(
    private readonly ytdlp: YtDlpRunner,
    private readonly policy: AddressPolicy,
    private readonly timeoutMs: number,
    private readonly lookup?: LookupFn,
  ) {}

  /** A pasted URL "searches" to that one item; any other text finds nothing here. */
  async search(query: string, _limit: number, signal: AbortSignal): Promise<RemoteMetadata[]> {
    if (!/^https?:\/\//i.test(query.trim())) return [];
    return [await this.resolve(query.trim(), signal)];
  }

  /**
   * Metadata for a URL. The result may belong to another source (a YouTube link resolves to a
   * `youtube` item) so the same video is one catalog row however it was found.
   */
  async resolve(remoteId: string, signal?: AbortSignal): Promise<RemoteMetadata> {
    const { target, pinned } = await this.playTarget(remoteId);
    const info = await this.ytdlp.json('json', target, { signal, timeoutMs: this.timeoutMs, pinned });
    return mapYtDlpInfo(info, parseSourceUrl(remoteId).href);
  }

  async playTarget(remoteId: string): Promise<PlayTarget> {
    const { url, pinned } = await checkSourceUrl(remoteId, this.policy, this.lookup);
    return { target: url.href, pinned: [pinned] };
  }
}
