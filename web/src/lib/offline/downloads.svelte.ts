/**
 * Music on this device: "Download" on an album or playlist stores each track's audio in Cache
 * Storage (`earshot-audio-v1`, keyed by its /stream/{id} path) exactly as the server streams it to
 * this user — their streaming quality, transcoded where they set it. The service worker answers
 * /stream/{id} from that cache first (with byte ranges, so seeking works), so the player prefers
 * the local copy without knowing about it, and plays with no network at all.
 *
 * What is downloaded (collections and their track metadata, bytes per track) is indexed in
 * localStorage; the audio is only in Cache Storage. A per-device limit (default 2 GB) stops a
 * download before it would pass it. Signing out removes everything.
 */
import { api, type Track } from '../api/index.js';

/** Same name as AUDIO in build/sw.template.js. */
export const AUDIO_CACHE = 'earshot-audio-v1';
const INDEX_KEY = 'earshot.downloads';
const LIMIT_KEY = 'earshot.downloadLimit';
const GB = 1024 ** 3;
export const DEFAULT_LIMIT = 2 * GB;
const PARALLEL = 2;
/** Attempts after a "busy, come back later" answer before the download stops with an error. */
const RETRIES = 8;

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason ?? new DOMException('Cancelled', 'AbortError'));
      },
      { once: true },
    );
  });
}

export type DownloadKind = 'album' | 'playlist';

export interface DownloadedCollection {
  kind: DownloadKind;
  id: string;
  name: string;
  tracks: Track[];
  savedAt: number;
}

export interface DownloadProgress {
  done: number;
  total: number;
  bytes: number;
  error: string | null;
}

interface Index {
  collections: DownloadedCollection[];
  /** Track id → bytes stored. */
  sizes: Record<string, number>;
}

export class LimitReached extends Error {}

const key = (kind: DownloadKind, id: string) => `${kind}:${id}`;

class Downloads {
  readonly supported = typeof caches !== 'undefined';
  collections = $state<DownloadedCollection[]>([]);
  sizes = $state<Record<string, number>>({});
  progress = $state<Record<string, DownloadProgress>>({});
  limit = $state(DEFAULT_LIMIT);
  used = $derived(Object.values(this.sizes).reduce((a, b) => a + b, 0));
  #controllers = new Map<string, AbortController>();

  constructor() {
    try {
      const raw = localStorage.getItem(INDEX_KEY);
      if (raw) {
        const index = JSON.parse(raw) as Index;
        this.collections = index.collections ?? [];
        this.sizes = index.sizes ?? {};
      }
      const limit = Number(localStorage.getItem(LIMIT_KEY));
      if (limit > 0) this.limit = limit;
    } catch {
      localStorage.removeItem(INDEX_KEY);
    }
  }

  #save() {
    const index: Index = {
      collections: $state.snapshot(this.collections) as DownloadedCollection[],
      sizes: { ...this.sizes },
    };
    localStorage.setItem(INDEX_KEY, JSON.stringify(index));
  }

  setLimit(bytes: number) {
    this.limit = bytes;
    localStorage.setItem(LIMIT_KEY, String(bytes));
  }

  /** This track's audio is on the device. */
  has(trackId: string): boolean {
    return trackId in this.sizes;
  }

  collection(kind: DownloadKind, id: string): DownloadedCollection | undefined {
    return this.collections.find((c) => c.kind === kind && c.id === id);
  }

  progressOf(kind: DownloadKind, id: string): DownloadProgress | undefined {
    return this.progress[key(kind, id)];
  }

  /** Bytes the tracks of a collection take on the device. */
  bytesOf(c: Pick<DownloadedCollection, 'tracks'>): number {
    return c.tracks.reduce((sum, t) => sum + (this.sizes[t.id] ?? 0), 0);
  }

  /**
   * Downloads every playable track of the collection not on the device yet (two at a time),
   * updating progress as each lands; stops at the device limit or on Cancel. Tracks already
   * stored stay stored when it stops.
   */
  async download(kind: DownloadKind, id: string, name: string, tracks: Track[]): Promise<void> {
    const k = key(kind, id);
    if (this.#controllers.has(k) || !this.supported) return;
    const controller = new AbortController();
    this.#controllers.set(k, controller);
    const wanted = tracks.filter((t, i) => tracks.findIndex((x) => x.id === t.id) === i);
    const existing = this.collection(kind, id);
    const record: DownloadedCollection = { kind, id, name, tracks: wanted, savedAt: Date.now() };
    this.collections = existing
      ? this.collections.map((c) => (c === existing ? record : c))
      : [...this.collections, record];
    this.#save();
    const todo = wanted.filter((t) => !this.has(t.id));
    this.progress[k] = { done: wanted.length - todo.length, total: wanted.length, bytes: 0, error: null };
    // Ask the browser not to evict what the user chose to keep (best effort; may be refused).
    void navigator.storage?.persist?.().catch(() => false);
    const cache = await caches.open(AUDIO_CACHE);
    let next = 0;
    const worker = async () => {
      while (next < todo.length && !controller.signal.aborted) {
        const track = todo[next++]!;
        await this.#fetchOne(cache, track, controller.signal);
        const p = this.progress[k]!;
        p.done += 1;
        p.bytes += this.sizes[track.id] ?? 0;
      }
    };
    try {
      await Promise.all(Array.from({ length: PARALLEL }, worker));
      if (!controller.signal.aborted) delete this.progress[k];
    } catch (err) {
      controller.abort();
      const p = this.progress[k];
      if (p)
        p.error =
          err instanceof LimitReached
            ? err.message
            : (err as Error).name === 'AbortError'
              ? null
              : `Download stopped: ${(err as Error).message}`;
      if (p && !p.error) delete this.progress[k];
    } finally {
      this.#controllers.delete(k);
    }
  }

  async #fetchOne(cache: Cache, track: Track, signal: AbortSignal) {
    const path = api.urls.stream(track.id);
    let res = await fetch(path, { credentials: 'same-origin', signal });
    // The server caps concurrent transcodes and says when to come back (503/429 + Retry-After).
    for (let attempt = 1; (res.status === 503 || res.status === 429) && attempt <= RETRIES; attempt++) {
      await res.body?.cancel();
      const seconds = Math.min(30, Math.max(1, Number(res.headers.get('retry-after')) || 5));
      await abortableDelay(seconds * 1000, signal);
      res = await fetch(path, { credentials: 'same-origin', signal });
    }
    if (!res.ok) throw new Error(`“${track.title}” could not be fetched (HTTP ${res.status}).`);
    const size = Number(res.headers.get('content-length')) || 0;
    if (size && this.used + size > this.limit) {
      await res.body?.cancel();
      throw new LimitReached(limitMessage(this.limit));
    }
    const blob = await res.blob();
    // Check and claim the space in one step (no await between): two parallel downloads cannot
    // both pass the limit.
    if (this.used + blob.size > this.limit) throw new LimitReached(limitMessage(this.limit));
    this.sizes[track.id] = blob.size;
    const type = res.headers.get('content-type') ?? 'audio/mpeg';
    try {
      await cache.put(
        path,
        new Response(blob, { headers: { 'content-type': type, 'content-length': String(blob.size) } }),
      );
      // Cancelled or removed while this one was being stored: do not leave it behind.
      if (signal.aborted) throw signal.reason ?? new DOMException('Cancelled', 'AbortError');
    } catch (err) {
      delete this.sizes[track.id];
      await cache.delete(path).catch(() => false);
      throw err;
    }
    this.#save();
  }

  cancel(kind: DownloadKind, id: string) {
    this.#controllers.get(key(kind, id))?.abort();
    delete this.progress[key(kind, id)];
  }

  /** Removes a collection; its tracks' audio goes unless another downloaded collection has them. */
  async remove(kind: DownloadKind, id: string) {
    this.cancel(kind, id);
    const gone = this.collection(kind, id);
    const kept = new Set(this.collections.filter((c) => c !== gone).flatMap((c) => c.tracks.map((t) => t.id)));
    const cache = this.supported ? await caches.open(AUDIO_CACHE) : null;
    const leaving = (gone?.tracks ?? []).filter((t) => !kept.has(t.id));
    for (const t of leaving) await cache?.delete(api.urls.stream(t.id));
    // Only now, in one step, does the page change: it says "removed" once all the audio is gone
    // (dropping sizes one by one would show "Resume download (n of m)" on the way).
    for (const t of leaving) delete this.sizes[t.id];
    this.collections = this.collections.filter((c) => c !== gone);
    this.#save();
  }

  /** Everything off the device (sign-out). */
  async clear() {
    for (const c of this.#controllers.values()) c.abort();
    this.collections = [];
    this.sizes = {};
    this.progress = {};
    localStorage.removeItem(INDEX_KEY);
    if (this.supported) await caches.delete(AUDIO_CACHE);
  }
}

const limitMessage = (limit: number) =>
  `This device's download limit (${formatBytes(limit)}) is reached. Raise it in Settings or remove downloads.`;

export function formatBytes(bytes: number): string {
  if (bytes >= GB) return `${(bytes / GB).toFixed(bytes >= 10 * GB ? 0 : 1)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(bytes >= 100 * 1024 ** 2 ? 0 : 1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

export const downloads = new Downloads();
