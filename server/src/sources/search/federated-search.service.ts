/**
 * Federated search: the local library and every enabled remote provider run concurrently, each
 * under its own timeout (`providerTimeoutMs`); the answer has one section per source with a status.
 * A slow or failing provider becomes `timeout`/`error` for its own section only — it never delays
 * local results beyond its timeout and never turns them into an error. Aborting a provider (timeout
 * or client gone) kills its yt-dlp / cancels its request.
 */
import type { AuthUser } from '../../accounts/auth-context.js';
import type { LikedFlags } from '../../catalog/liked.js';
import type { Logger } from '../../shared/logger.js';
import { telemetry } from '../../shared/telemetry.js';
import { REMOTE_SOURCES, type RemoteMetadata, type RemoteSource } from '../providers/provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { RemoteTracksRepository } from '../remote-tracks.repository.js';
import type { LocalSearchProvider } from './local-search.js';
import type { RecentResults } from './recent-results.js';
import type { LocalSection, RemoteItem, RemoteSection, SearchResponse, SectionStatus } from '../sources.schemas.js';

export type SearchSection = { section: 'local'; local: LocalSection } | { section: 'remote'; remote: RemoteSection };

export interface FederatedSearchOptions {
  liked: LikedFlags;
  local: LocalSearchProvider;
  registry: ProviderRegistry;
  repo: RemoteTracksRepository;
  recent: RecentResults;
  timeoutMs: number;
  mayPlayUrls: (user: AuthUser) => Promise<boolean>;
  logger: Logger;
}

class ProviderTimeout extends Error {}

/** After a provider fails, searches skip it for 15 s, doubling per failure in a row up to 5 min. */
export const BACKOFF_BASE_MS = 15_000;
export const BACKOFF_MAX_MS = 5 * 60_000;

interface Failure {
  count: number;
  until: number;
  status: 'timeout' | 'error';
  error: string;
}

export class FederatedSearchService {
  /**
   * Per provider instance (a replaced provider starts clean): a failing site (no internet, DNS
   * down, YouTube changed) is not asked again on every keystroke; the section says when it will be.
   */
  private readonly failures = new WeakMap<object, Failure>();

  constructor(
    private readonly o: FederatedSearchOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async search(query: string, limit: number, user: AuthUser, signal?: AbortSignal): Promise<SearchResponse> {
    let local: LocalSection | null = null;
    const remote: RemoteSection[] = [];
    await this.run(
      query,
      limit,
      user,
      (s) => {
        if (s.section === 'local') local = s.local;
        else remote.push(s.remote);
      },
      signal,
    );
    const order = (p: RemoteSource) => REMOTE_SOURCES.indexOf(p);
    remote.sort((a, b) => order(a.provider) - order(b.provider));
    return { query, local: local!, remote };
  }

  /**
   * The remote sections only, in the providers' order: for callers that rank the local library
   * themselves (the Subsonic API's search3), which would otherwise pay for a second local search.
   */
  async searchRemoteOnly(query: string, limit: number, user: AuthUser): Promise<RemoteSection[]> {
    const q = query.trim();
    return Promise.all(REMOTE_SOURCES.map((name) => this.searchRemote(name, q, limit, user)));
  }

  /**
   * Emits the local section first (as soon as it is ready), then each remote section as it
   * completes. Resolves when every section has been emitted.
   */
  async run(
    query: string,
    limit: number,
    user: AuthUser,
    emit: (s: SearchSection) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const q = query.trim();
    const localPromise = this.searchLocal(q, limit, user);
    const remotePromises = REMOTE_SOURCES.map((name) => this.searchRemote(name, q, limit, user, signal));
    emit({ section: 'local', local: await localPromise });
    await Promise.all(remotePromises.map((p) => p.then((remote) => emit({ section: 'remote', remote }))));
  }

  private async searchLocal(q: string, limit: number, user: AuthUser): Promise<LocalSection> {
    const started = performance.now();
    try {
      const { tracks, albums, artists } = await this.o.local.search(q, user.id, {
        tracks: limit,
        albums: limit,
        artists: limit,
      });
      return { tracks, albums, artists, status: 'ok', tookMs: Math.round(performance.now() - started) };
    } catch (err) {
      this.o.logger.error({ area: 'sources', err }, 'local search failed');
      return {
        tracks: [],
        albums: [],
        artists: [],
        status: 'error',
        error: 'Local search failed.',
        tookMs: Math.round(performance.now() - started),
      };
    }
  }

  private async searchRemote(
    name: RemoteSource,
    q: string,
    limit: number,
    user: AuthUser,
    outer?: AbortSignal,
  ): Promise<RemoteSection> {
    const started = performance.now();
    const section = (status: SectionStatus, items: RemoteItem[] = [], error?: string): RemoteSection => ({
      provider: name,
      status,
      ...(error ? { error } : {}),
      tookMs: Math.round(performance.now() - started),
      items,
    });
    const provider = this.o.registry.get(name);
    if (!provider) return section('disabled');
    if (name === 'url' && !(await this.o.mayPlayUrls(user)))
      return section('disabled', [], 'Playing URLs is not permitted for this account.');
    if (q === '') return section('ok');
    // The URL source fails per URL (a bad link), not as a whole: never backed off.
    const failed = name === 'url' ? undefined : this.failures.get(provider);
    if (failed && failed.until > this.now())
      return {
        ...section(failed.status, [], failed.error),
        retryInSeconds: Math.ceil((failed.until - this.now()) / 1000),
      };

    const controller = new AbortController();
    const onOuterAbort = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new ProviderTimeout(`No answer within ${this.o.timeoutMs} ms.`);
        controller.abort(err);
        reject(err);
      }, this.o.timeoutMs);
    });
    try {
      // The race guarantees the timeout even for a provider that ignores its signal.
      const found = await Promise.race([provider.search(q, limit, controller.signal), timeout]);
      this.o.recent.remember(found);
      telemetry.time('earshot_provider_search_duration_seconds', { provider: name }, started);
      this.failures.delete(provider);
      return section('ok', await this.enrich(found.slice(0, limit), user));
    } catch (err) {
      // A search the user replaced (typed on) is not the provider's failure.
      if (outer?.aborted && !(err instanceof ProviderTimeout)) return section('error', [], 'Search cancelled.');
      telemetry.time('earshot_provider_search_duration_seconds', { provider: name }, started);
      const status = err instanceof ProviderTimeout ? 'timeout' : 'error';
      telemetry.add('earshot_provider_search_errors_total', { provider: name, reason: status });
      const error = err instanceof ProviderTimeout ? err.message : publicMessage(err);
      if (status === 'error')
        this.o.logger.warn({ area: 'sources', provider: name, err: (err as Error).message }, 'provider search failed');
      if (name === 'url') return section(status, [], error);
      const count = (this.failures.get(provider)?.count ?? 0) + 1;
      const wait = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (count - 1));
      this.failures.set(provider, { count, until: this.now() + wait, status, error });
      return { ...section(status, [], error), retryInSeconds: Math.ceil(wait / 1000) };
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
      if (!controller.signal.aborted) controller.abort();
    }
  }

  /** Marks items already in the catalog: cached state, track id and the user's like. */
  private async enrich(found: RemoteMetadata[], user: AuthUser): Promise<RemoteItem[]> {
    const rows = found.length ? await this.o.repo.findManyByRemote(found) : [];
    const byKey = new Map(rows.map((r) => [`${r.source_type}:${r.remote_id}`, r]));
    const liked = await this.o.liked.likedIds(
      user.id,
      'track',
      rows.map((r) => r.id),
    );
    return found.map((m) => {
      const row = byKey.get(`${m.source}:${m.remoteId}`);
      return {
        source: m.source,
        remoteId: m.remoteId,
        title: m.title,
        artist: m.artist,
        album: m.album,
        duration: m.duration,
        thumbnailUrl: m.thumbnailUrl,
        cached: row?.is_cached === 1,
        trackId: row?.id ?? null,
        liked: row ? liked.has(row.id) : false,
      };
    });
  }
}

/** Provider failures are shown to users: keep them short and free of internals. */
function publicMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/https?:\/\/[0-9a-f]{36}:x@[^\s]+/g, '<proxy>').slice(0, 200) || 'The provider failed.';
}
