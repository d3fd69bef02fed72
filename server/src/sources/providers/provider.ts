/**
 * One interface for every remote source: search, resolve one item's metadata, and name the target
 * yt-dlp plays. Real YouTube / SoundCloud are unreachable from the test machine, so tests inject
 * doubles through {@link ProviderRegistry.set}; everything around the provider stays real.
 */
import type { CheckedAddress } from '../net/address-policy.js';

export type RemoteSource = 'youtube' | 'soundcloud' | 'url';
export const REMOTE_SOURCES: readonly RemoteSource[] = ['youtube', 'soundcloud', 'url'];

export interface RemoteMetadata {
  source: RemoteSource;
  /** Stable id within the source: YouTube video id, SoundCloud track id, or the URL for `url`. */
  remoteId: string;
  title: string;
  artist: string | null;
  album: string | null;
  /** Seconds. */
  duration: number | null;
  thumbnailUrl: string | null;
  webpageUrl: string | null;
  extractor: string | null;
}

/** What yt-dlp is pointed at to play an item, with the addresses checked before it runs. */
export interface PlayTarget {
  target: string;
  pinned?: CheckedAddress[];
}

export interface RemoteProvider {
  readonly name: RemoteSource;
  /** Searches the service. Must honour `signal` (federated search aborts slow providers). */
  search(query: string, limit: number, signal: AbortSignal): Promise<RemoteMetadata[]>;
  /** Metadata for one item by id (or, for `url`, by URL). */
  resolve(remoteId: string, signal?: AbortSignal): Promise<RemoteMetadata>;
  /** The yt-dlp target for an item; throws (before anything runs) when it may not be fetched. */
  playTarget(remoteId: string): Promise<PlayTarget>;
}
