/**
 * YouTube / YouTube Music. Search runs in-process through youtubei.js (YouTube Music's "songs"
 * filter: real artist/album/duration fields); resolving and playing go through yt-dlp.
 *
 * Why in-process search (measured on the target machine, bench/sources.bench.ts): a yt-dlp
 * `ytsearch5:` run costs ~0.3 s of process start and extractor loading before its first request,
 * and parses the whole results page; youtubei.js costs a one-time ~0.4 s import on first search,
 * then one JSON API call per search. youtubei.js is imported lazily, so a server with YouTube
 * disabled never loads it. The real service is unreachable from the test machine: this code runs
 * up to the network call there (see sources/README.md).
 */
import type { YtDlpRunner } from '../ytdlp/runner.js';
import { mapYtDlpInfo } from '../ytdlp/mapping.js';
import type { PlayTarget, RemoteMetadata, RemoteProvider } from './provider.js';

const VIDEO_ID = /^[A-Za-z0-9_-]{11}$/;

/** The subset of youtubei.js' MusicResponsiveListItem this provider reads. */
export interface YtMusicItem {
  id?: string;
  title?: string;
  item_type?: string;
  duration?: { seconds: number };
  album?: { name: string };
  artists?: { name: string }[];
  authors?: { name: string }[];
  thumbnails?: { url: string; width: number }[];
}

export function mapYtMusicItem(item: YtMusicItem): RemoteMetadata | null {
  if (!item.id || !VIDEO_ID.test(item.id) || !item.title) return null;
  const thumbs = [...(item.thumbnails ?? [])].sort((a, b) => a.width - b.width);
  const people = item.artists?.length ? item.artists : item.authors;
  return {
    source: 'youtube',
    remoteId: item.id,
    title: item.title,
    artist: people?.map((a) => a.name).join(', ') || null,
    album: item.album?.name ?? null,
    duration: item.duration?.seconds ?? null,
    thumbnailUrl: thumbs.at(-1)?.url ?? null,
    webpageUrl: `https://music.youtube.com/watch?v=${item.id}`,
    extractor: 'Youtube',
  };
}

type MusicClient = {
  music: {
    search(q: string, f: { type: 'song' }): Promise<{ songs?: { contents?: YtMusicItem[] }; contents?: unknown[] }>;
  };
};

export class YouTubeProvider implements RemoteProvider {
  readonly name = 'youtube' as const;
  private client: Promise<MusicClient> | null = null;

  constructor(
    private readonly ytdlp: YtDlpRunner,
    private readonly timeoutMs: number,
  ) {}

  private innertube(): Promise<MusicClient> {
    this.client ??= import('youtubei.js')
      .then(
        ({ Innertube }) =>
          Innertube.create({
            retrieve_player: false,
            generate_session_locally: true,
          }) as unknown as Promise<MusicClient>,
      )
      .catch((err) => {
        this.client = null; // retry on the next search
        throw err;
      });
    return this.client;
  }

  async search(query: string, limit: number, signal: AbortSignal): Promise<RemoteMetadata[]> {
    const yt = await this.innertube();
    signal.throwIfAborted();
    const result = await yt.music.search(query, { type: 'song' });
    signal.throwIfAborted();
    const items = result.songs?.contents ?? [];
    return items
      .map(mapYtMusicItem)
      .filter((m): m is RemoteMetadata => m !== null)
      .slice(0, limit);
  }

  async resolve(remoteId: string, signal?: AbortSignal): Promise<RemoteMetadata> {
    const { target } = await this.playTarget(remoteId);
    const info = await this.ytdlp.json('json', target, { signal, timeoutMs: this.timeoutMs });
    return { ...mapYtDlpInfo(info), source: 'youtube', remoteId };
  }

  async playTarget(remoteId: string): Promise<PlayTarget> {
    if (!VIDEO_ID.test(remoteId)) throw new Error(`not a YouTube video id: ${remoteId.slice(0, 40)}`);
    return { target: `https://www.youtube.com/watch?v=${remoteId}` };
  }
}
