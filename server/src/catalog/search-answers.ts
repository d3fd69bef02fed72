/**
 * What both engines' local search keep between requests (search.ts on SQLite, search-pg.ts on
 * PostgreSQL; README.md here, "Result cache"): the answers per query and section sizes (LRU,
 * bounded in entries and bytes), the misses being ranked right now (concurrent identical misses
 * share one ranking), the FTS query of each search text, and the idle drop (after
 * {@link IDLE_DROP_MS} without searches everything goes, and the owner drops its own state too).
 * Validity is the owner's: it calls {@link AnswerCache.clear} when the catalog version moves.
 */
import type { Sizes } from './search-ranker.js';

/** Recent answers kept: at most this many (each mostly one JSON buffer, ~10–25 KB)… */
const CACHE_ENTRIES = 2000;
/** …and at most this much JSON (about 1,000 answers of 20 tracks, 10 albums, 10 artists). */
const CACHE_BYTES = 16 * 1024 * 1024;
/** Nobody searched for this long: cached answers (and the owner's memory) are dropped. */
export const IDLE_DROP_MS = 5 * 60_000;
/** Search texts whose FTS query is remembered. */
const MATCHES_KEPT = 4096;

/** Section sizes asked of a search: each 0–200 (tracks 20, albums 10, artists 10, genres 5 unless asked). */
export interface SearchLimits {
  tracks?: number;
  albums?: number;
  artists?: number;
  genres?: number;
}

export function sizesOf(limits: SearchLimits): Sizes {
  const n = (v: number | undefined, d: number) => Math.max(0, Math.min(Math.floor(v ?? d), 200));
  return [n(limits.tracks, 20), n(limits.albums, 10), n(limits.artists, 10), n(limits.genres, 5)] as const;
}

const UPPER_ASCII = /[A-Z]/;
/**
 * Cache key of an FTS query: ASCII letters folded to lower case (both engines fold them too, so
 * "Blue" and "blue" share an entry). Other letters are kept as they are: two keys that differ are
 * always safe, only a wrong fold could merge two different queries.
 */
export const cacheKey = (match: string, sizes: Sizes) =>
  `${sizes[0]},${sizes[1]},${sizes[2]},${sizes[3]}\u0000${UPPER_ASCII.test(match) ? match.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : match}`;

interface Kept<E> {
  entry: E;
  size: number;
}

/** The answers of one search service (module comment). */
export class AnswerCache<E> {
  private readonly kept = new Map<string, Kept<E>>();
  private bytes = 0;
  private readonly inflight = new Map<string, Promise<E>>();
  private readonly matches = new Map<string, string | null>();
  private lastUsed = 0;
  private idleTimer: NodeJS.Timeout | null = null;

  /** `onIdle`: what the owner drops when search goes idle (the answers are dropped already). */
  constructor(private readonly onIdle: () => void) {}

  /** The cached answer for `key` (moved to the LRU end), if any. */
  get(key: string): E | undefined {
    const hit = this.kept.get(key);
    if (!hit) return undefined;
    this.kept.delete(key);
    this.kept.set(key, hit);
    return hit.entry;
  }

  /** Keeps an answer of `size` bytes, dropping the least recently used beyond the bounds. */
  remember(key: string, entry: E, size: number): void {
    const old = this.kept.get(key);
    if (old) {
      this.bytes -= old.size;
      this.kept.delete(key);
    }
    this.kept.set(key, { entry, size });
    this.bytes += size;
    while (this.kept.size > CACHE_ENTRIES || this.bytes > CACHE_BYTES) {
      const [oldest, dropped] = this.kept.entries().next().value as [string, Kept<E>];
      this.kept.delete(oldest);
      this.bytes -= dropped.size;
    }
    this.armIdleDrop();
  }

  /** Forgets every answer. */
  clear(): void {
    this.kept.clear();
    this.bytes = 0;
  }

  /** The ranking of `flightKey` in progress, or a new one from `rank` (concurrent askers share it). */
  shared(flightKey: string, rank: () => Promise<E>): Promise<E> {
    let flight = this.inflight.get(flightKey);
    if (!flight) {
      flight = rank().finally(() => this.inflight.delete(flightKey));
      this.inflight.set(flightKey, flight);
    }
    return flight;
  }

  /**
   * The FTS query of a search text, remembered: `toFtsQuery` (Unicode normalization, word
   * splitting) costs more than the cache lookup it leads to.
   */
  matchOf(q: string, toMatch: (q: string) => string | null): string | null {
    let match = this.matches.get(q);
    if (match === undefined) {
      match = toMatch(q);
      if (this.matches.size >= MATCHES_KEPT) this.matches.clear();
      this.matches.set(q, match);
    }
    return match;
  }

  /** A search was served (the idle drop counts from the last one). */
  used(): void {
    this.lastUsed = Date.now();
  }

  /** Stops the idle timer (the owner closes). */
  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private armIdleDrop(): void {
    this.lastUsed = Date.now();
    if (this.idleTimer) return;
    const check = () => {
      const idleFor = Date.now() - this.lastUsed;
      if (idleFor >= IDLE_DROP_MS) {
        this.idleTimer = null;
        this.clear();
        this.matches.clear();
        this.onIdle();
      } else {
        this.idleTimer = setTimeout(check, IDLE_DROP_MS - idleFor);
        this.idleTimer.unref();
      }
    };
    this.idleTimer = setTimeout(check, IDLE_DROP_MS);
    this.idleTimer.unref();
  }
}
