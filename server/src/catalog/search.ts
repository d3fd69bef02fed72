/**
 * Local search over the FTS5 index (SQLite `unicode61 remove_diacritics 2`, prefix indexes,
 * bm25 ranking) in typed sections. Used by `/api/v1/search/local` and by the federated search.
 *
 * User text never reaches FTS syntax (catalog.routes.test.ts, http/fuzz.test.ts): it is cut into letter/digit words, and each
 * word becomes a quoted prefix term (`"beyon"*`), so `"`, `*`, `NEAR`, `-`, `OR` and SQL fragments
 * are searched as plain words. Queries are prepared statements with bound parameters.
 *
 * Speed (README.md here): answers are cached until the catalog changes; a query that misses the
 * cache is answered from the in-memory mirrors (search-mirror-plan.ts) when they are current, else
 * ranked over FTS5 by the search reader thread (search-reader.ts) so the event loop stays free;
 * the HTTP route re-sends cached JSON bytes when none of the results is liked by the caller.
 */
import type SQLite from 'better-sqlite3';
import { type Db, releaseMemory } from '../db/database.js';
import { searchFold } from '../db/sql-functions.js';
import { WriteWatch } from '../db/write-watch.js';
import { telemetry } from '../shared/telemetry.js';
import type { AlbumDto, ArtistDto, TrackDto } from './dto.js';
import { AnswerCache, cacheKey, type SearchLimits, sizesOf } from './search-answers.js';
import type { RankedJson } from './search-json.js';
import { MirrorRanker } from './search-mirror-plan.js';
import type { GenreDto, Ranked, Sizes } from './search-ranker.js';
import { SqlRanker } from './search-sql-plan.js';
import { SearchReader } from './search-reader.js';

export type { GenreDto } from './search-ranker.js';

export interface SearchSections {
  tracks: TrackDto[];
  albums: AlbumDto[];
  artists: ArtistDto[];
  genres: GenreDto[];
}

export type { SearchLimits } from './search-answers.js';

const MAX_TERMS = 8;
/** The cache-hit label, made once. */
const CACHE_PATH = { path: 'cache' };
const INLINE_PATH = { path: 'inline' };
const MIRROR_PATH = { path: 'mirror' };
const FTS_PATH = { path: 'fts' };
/** Size assumed for an answer kept as objects until first serialized. */
const OBJECT_ENTRY_BYTES = 16 * 1024;
/** Commits by other processes reach the cache this late at most. */
const DATA_VERSION_EVERY_MS = 250;
/** The reader thread stops after this long without a cache miss. */
const READER_IDLE_MS = 60_000;
/** Page cache of the reader thread's connection (KiB). */
const READER_CACHE_KIB = 8_000;

/**
 * A word as FTS5's `unicode61` tokenizer sees one: letters, digits, marks and private-use
 * characters (its token characters; marks and private-use characters fold away inside a word).
 */
const WORD = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;
/** A word the tokenizer keeps something of (not only marks or private-use characters). */
const KEPT = /[\p{L}\p{N}]/u;
/** Longest word kept, in code points. */
const MAX_WORD = 64;

const wordsOf = (text: string): string[] => (text.match(WORD) ?? []).filter((w) => KEPT.test(w));
const prefixTerm = (w: string) => `"${w}"*`;

/**
 * User text as an FTS5 query: every word a quoted prefix term (`"Beyoncé – Halo*"` →
 * `"Beyoncé"* "Halo"*`); null when there are no words.
 *
 * The text is folded to NFKC first, as the index holds it (migration 0017, `earshot_nfkc` in the
 * triggers): "ｂｅｙｏｎｃｅ", "𝐁𝐞𝐲𝐨𝐧𝐜𝐞" and "beyonce" all find "Beyoncé", and "abc" finds
 * "ＡＢＣ". Folding the whole text, not word by word, splits words where the index does ("½" is
 * "1⁄2": two words) and keeps characters NFKC turns into letters ("㍿").
 */
export function toFtsQuery(q: string): string | null {
  const words = wordsOf(searchFold(q)).slice(0, MAX_TERMS);
  if (words.length === 0) return null;
  return words.map((w) => prefixTerm(w.length > MAX_WORD ? Array.from(w).slice(0, MAX_WORD).join('') : w)).join(' ');
}

/**
 * One cached answer: objects (ranked on the main connection) until the HTTP route first
 * serializes them, then only UTF-8 JSON; answers from the reader thread arrive as JSON. Bytes
 * rather than ~300 small objects or a string: off the JS heap, nothing for the GC to trace or copy.
 */
interface Entry {
  ranked: Ranked | null;
  json: Buffer | null;
  ids: { tracks: string[]; albums: string[]; artists: string[] };
}

const entryOf = (ranked: Ranked): Entry => ({
  ranked,
  json: null,
  ids: {
    tracks: ranked.tracks.map((t) => t.id),
    albums: ranked.albums.map((a) => a.id),
    artists: ranked.artists.map((a) => a.id),
  },
});

/** An answer from the reader thread: already JSON text (objects only if someone needs them). */
const entryOfJson = ({ json, ids }: RankedJson): Entry => ({
  ranked: null,
  json: Buffer.from(json.buffer, json.byteOffset, json.byteLength),
  ids,
});

export class CatalogSearch {
  private readonly sqlite: SQLite.Database;
  private readonly stmt;
  /** The SQL plan on the main connection (no reader thread, or inside a transaction). */
  private readonly inline: SqlRanker;
  /** The in-memory plan (null when turned off). */
  private readonly mirrors: MirrorRanker | null;
  private readonly writeWatch: WriteWatch;
  private readonly reader: SearchReader | null;
  /** Answers, misses in flight (concurrent askers share one ranking), FTS queries, idle drop. */
  private readonly answers: AnswerCache<Entry>;
  private readonly usersWithLikes = new Map<string, boolean>();
  /** The catalog version of the cached answers, and the write counters last seen. */
  private token = '';
  private writes = '';

  /**
   * `readerThread`: rank FTS5 queries off the event loop (default). `mirrors`: keep the in-memory
   * mirrors (search-mirror-plan.ts) once search is used (default).
   */
  constructor(deps: { db: Db; sqlite: SQLite.Database; readerThread?: boolean; mirrors?: boolean }) {
    this.sqlite = deps.sqlite;
    // Nobody searched for a while: drop what search holds, SQLite's page cache too (idle memory).
    this.answers = new AnswerCache<Entry>(() => {
      this.usersWithLikes.clear();
      this.inline.clear();
      this.mirrors?.clear();
      this.token = '';
      this.writes = '';
      this.writeWatch.reset();
      releaseMemory(this.sqlite);
    });
    const s = (q: string) => deps.sqlite.prepare(q);
    const liked = (type: string, param: string) =>
      `select '${type}' as type, item_id as id from user_activity
       where user_id = @user and item_type = '${type}' and is_liked = 1 and item_id in (select value from json_each(@${param}))`;
    this.stmt = {
      catalogVersion: s('select version from catalog_version where id = 1').pluck(),
      anyLiked: s('select 1 from user_activity where user_id = ? and is_liked = 1 limit 1'),
      // The caller's liked flags for every listed item, in one statement.
      liked: s(
        `${liked('track', 'tracks')} union all ${liked('album', 'albums')} union all ${liked('artist', 'artists')}`,
      ),
    };
    this.inline = new SqlRanker(deps.sqlite);
    this.mirrors = (deps.mirrors ?? true) ? new MirrorRanker(deps.sqlite) : null;
    this.writeWatch = new WriteWatch(deps.sqlite, DATA_VERSION_EVERY_MS);
    const file = deps.sqlite.memory ? '' : deps.sqlite.name;
    this.reader =
      (deps.readerThread ?? true) && file
        ? new SearchReader({ path: file, cacheKib: READER_CACHE_KIB, idleMs: READER_IDLE_MS })
        : null;
  }

  /** Whether the reader thread is alive right now. */
  get readerRunning(): boolean {
    return this.reader?.running ?? false;
  }

  /** The in-memory mirrors are built and current (benches wait for this). */
  get mirrorsWarm(): boolean {
    return this.mirrors?.ready ?? false;
  }

  /** Cache misses the in-memory mirrors have answered so far. */
  answeredInMemory = 0;

  /** Forgets every cached answer (the next query of each kind is ranked again). */
  dropAnswers(): void {
    this.answers.clear();
  }

  /** Cache misses the reader thread has ranked so far. */
  get readerAnswered(): number {
    return this.reader?.answered ?? 0;
  }

  /** Stops the reader thread (server shutdown). */
  async close(): Promise<void> {
    this.answers.close();
    this.mirrors?.close();
    await this.reader?.close();
  }

  /**
   * The catalog version the cached answers belong to. Any write moves this connection's change
   * counter (read on every request, ~0.3 µs) or `data_version` (commits by other processes such
   * as the CLI; ~6 µs, so read at most every {@link DATA_VERSION_EVERY_MS}); only then is the
   * catalog version (migration 0008) read, and only a catalog change drops the answers. Liked
   * flags are per user and follow every write.
   */
  private validate(): string {
    const writes = this.writeWatch.token();
    if (writes !== this.writes) {
      this.writes = writes;
      this.usersWithLikes.clear();
      const catalog = String(this.stmt.catalogVersion.get());
      if (catalog !== this.token) {
        this.token = catalog;
        this.answers.clear();
      }
    }
    return this.token;
  }

  /**
   * The ranked sections for one query, cached until the catalog changes: search-as-you-type sends
   * the same prefixes again and again ("b", "be", "bey"), and ranking thousands of prefix matches
   * is the expensive part. Liked flags are per user and never cached.
   */
  private ranked(match: string, sizes: Sizes): Entry | Promise<Entry> {
    const started = performance.now();
    const token = this.validate();
    const key = cacheKey(match, sizes);
    const hit = this.answers.get(key);
    if (hit) {
      telemetry.time('earshot_search_duration_seconds', CACHE_PATH, started);
      return hit;
    }
    // Inside an open transaction this connection sees its own uncommitted writes and the token
    // may not move at COMMIT: rank inline and keep nothing.
    if (this.sqlite.inTransaction) {
      const entry = entryOf(this.inline.rank(match, sizes, token));
      telemetry.time('earshot_search_duration_seconds', INLINE_PATH, started);
      return entry;
    }
    // Most queries: the in-memory mirrors answer here and now, in tens of microseconds (they
    // start building on the first search and are dropped when search goes idle).
    this.mirrors?.keep();
    const fast = this.mirrors?.rankJson(match, sizes, token);
    if (fast) {
      this.answeredInMemory++;
      const entry = entryOfJson(fast);
      this.remember(key, entry);
      telemetry.time('earshot_search_duration_seconds', MIRROR_PATH, started);
      return entry;
    }
    return this.rankedByFts(match, sizes, token, key, started);
  }

  /** A miss the mirrors cannot answer: FTS5 on the reader thread (concurrent askers share it). */
  private async rankedByFts(match: string, sizes: Sizes, token: string, key: string, started: number) {
    const entry = await this.answers.shared(`${token}\u0000${key}`, () => this.compute(match, sizes, token));
    telemetry.time('earshot_search_duration_seconds', FTS_PATH, started);
    // Keep it only if nothing was written while it was being ranked.
    if (this.validate() === token && !this.sqlite.inTransaction) this.remember(key, entry);
    return entry;
  }

  private remember(key: string, entry: Entry): void {
    this.answers.remember(key, entry, entry.json?.length ?? OBJECT_ENTRY_BYTES);
  }

  private async compute(match: string, sizes: Sizes, token: string): Promise<Entry> {
    if (this.reader && !this.reader.broken) {
      try {
        return entryOfJson(await this.reader.rank(match, sizes));
      } catch {
        // The reader stopped or failed: rank here instead.
      }
    }
    return entryOf(this.inline.rank(match, sizes, token));
  }

  /** Whether the user likes anything at all (per database version): most answers need no liked lookup. */
  private hasLikes(userId: string): boolean {
    let has = this.usersWithLikes.get(userId);
    if (has === undefined) {
      has = this.stmt.anyLiked.get(userId) !== undefined;
      if (this.usersWithLikes.size >= 64) this.usersWithLikes.clear();
      this.usersWithLikes.set(userId, has);
    }
    return has;
  }

  private matchOf(q: string): string | null {
    return this.answers.matchOf(q, toFtsQuery);
  }

  /**
   * The cached answer and the caller's liked items among it (`type:id`; null when none).
   * Synchronous when the answer is cached or the mirrors rank it (no promise per request).
   */
  private answer(q: string, userId: string | null, limits: SearchLimits): Answer | Promise<Answer> {
    const match = this.matchOf(q);
    if (!match) return { entry: EMPTY, liked: null };
    const entry = this.ranked(match, sizesOf(limits));
    return entry instanceof Promise ? entry.then((e) => this.withLikes(e, userId)) : this.withLikes(entry, userId);
  }

  /** Call in the same turn of the event loop as ranked() validated the token. */
  private withLikes(entry: Entry, userId: string | null): Answer {
    this.answers.used();
    const { tracks, albums, artists } = entry.ids;
    if (!userId || tracks.length + albums.length + artists.length === 0) return { entry, liked: null };
    if (!this.hasLikes(userId)) return { entry, liked: null };
    const rows = this.stmt.liked.all({
      user: userId,
      tracks: JSON.stringify(tracks),
      albums: JSON.stringify(albums),
      artists: JSON.stringify(artists),
    }) as { type: string; id: string }[];
    return { entry, liked: rows.length === 0 ? null : new Set(rows.map((r) => `${r.type}:${r.id}`)) };
  }

  /**
   * Only the ranked ids of each section, best first, from the same cached answers as `search`
   * (no objects, no liked flags): for faces that read and render the items themselves (the
   * Subsonic API), which would otherwise parse the whole cached answer on every request.
   */
  async searchIds(q: string, limits: SearchLimits = {}): Promise<SearchIds> {
    const match = this.matchOf(q);
    if (!match) return EMPTY.ids;
    const entry = await this.ranked(match, sizesOf(limits));
    this.answers.used();
    return entry.ids;
  }

  async search(q: string, userId: string | null, limits: SearchLimits = {}): Promise<SearchSections> {
    const { entry, liked } = await this.answer(q, userId, limits);
    return sectionsOf(entry, liked);
  }

  /**
   * The answer as UTF-8 JSON for the HTTP route: a value when it is at hand (a cached answer, or
   * ranked by the mirrors), a promise when FTS5 ranks it. When none of the results is liked by
   * the caller (the usual case), the bytes made for the first asker (by the mirrors, the reader
   * thread, or the route's serializer `serialize`) are sent again: a repeated query costs neither
   * ranking nor serialization nor encoding.
   */
  searchJson(
    q: string,
    userId: string | null,
    limits: SearchLimits,
    serialize: (sections: SearchSections) => string,
  ): string | Buffer | Promise<string | Buffer> {
    const answer = this.answer(q, userId, limits);
    return answer instanceof Promise ? answer.then((a) => jsonOf(a, serialize)) : jsonOf(answer, serialize);
  }
}

/** Ranked ids per section (shared with the cache: read, never change them). */
export interface SearchIds {
  readonly tracks: readonly string[];
  readonly albums: readonly string[];
  readonly artists: readonly string[];
}

interface Answer {
  entry: Entry;
  liked: Set<string> | null;
}

function jsonOf({ entry, liked }: Answer, serialize: (sections: SearchSections) => string): string | Buffer {
  if (liked) return serialize(sectionsOf(entry, liked));
  if (entry.json === null) {
    entry.json = Buffer.from(serialize(sectionsOf(entry, null)));
    entry.ranked = null;
  }
  return entry.json;
}

const EMPTY: Entry = entryOf({ tracks: [], albums: [], artists: [], genres: [] });

/** Fresh objects every time (callers may decorate what they get), with the caller's liked flags. */
function sectionsOf(entry: Entry, liked: Set<string> | null): SearchSections {
  const is = (key: string) => liked?.has(key) ?? false;
  if (!entry.ranked) {
    const parsed = JSON.parse((entry.json as Buffer).toString()) as SearchSections;
    if (liked) {
      for (const t of parsed.tracks) t.liked = is(`track:${t.id}`);
      for (const a of parsed.albums) a.liked = is(`album:${a.id}`);
      for (const a of parsed.artists) a.liked = is(`artist:${a.id}`);
    }
    return parsed;
  }
  const ranked = entry.ranked;
  return {
    tracks: ranked.tracks.map((t) => ({ ...t, liked: is(`track:${t.id}`) })),
    albums: ranked.albums.map((a) => ({ ...a, liked: is(`album:${a.id}`) })),
    artists: ranked.artists.map((a) => ({ ...a, liked: is(`artist:${a.id}`) })),
    genres: ranked.genres.map((g) => ({ ...g })),
  };
}
