/**
 * Local search when the database is PostgreSQL: the same interface and answers' shape as the
 * SQLite search (search.ts). Most misses are answered on the event loop by the in-memory mirrors
 * of the search tables (search-pg-mirror.ts: `ts_rank` recomputed bit for bit, the SQL plan's very
 * bytes); the SQL plan (search-pg-plan.ts, PostgreSQL's full-text search over the tables of
 * migration 0019) answers the rest: before the mirrors are built, after a catalog change until
 * they are rebuilt. User text never reaches tsquery syntax: it is cut into words exactly as for
 * FTS5 (`toFtsQuery`: NFKC, letters and digits, at most 8 words of 64 characters), and those
 * words reach SQL as one bound parameter.
 *
 * Answers are cached as on SQLite (search-answers.ts; README.md here, "Result cache"): JSON bytes
 * per query and section sizes, dropped when the catalog version moves. The version is polled
 * (db/write-watch.ts `PgWriteWatch`) at half of the 250 ms interval in the background of requests,
 * which answer from the last poll while it is younger than the interval: a catalog write by any
 * replica drops cached answers and stops the mirrors within 250 ms (plus a round trip), a write
 * by this process is seen by its next search at once, and requests do not queue behind polls. There is no reader thread here: the connection pool is the
 * concurrency of the SQL plan, and PostgreSQL ranks in its own processes.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { PgWriteWatch, type PgWatchState } from '../db/write-watch.js';
import { telemetry } from '../shared/telemetry.js';
import { AnswerCache, cacheKey, sizesOf } from './search-answers.js';
import type { LocalSearch } from './search-api.js';
import { type RankedJson, toRankedJson } from './search-json.js';
import { PgMirrorRanker } from './search-pg-mirror.js';
import { PgRanker } from './search-pg-plan.js';
import type { Sizes } from './search-ranker.js';
import { type SearchIds, type SearchLimits, type SearchSections, toFtsQuery } from './search.js';

/** Writes by other replicas reach the cache this late at most (plus one round trip). */
const POLL_EVERY_MS = 250;
const CACHE_PATH = { path: 'cache' };
const PG_PATH = { path: 'postgres' };
const MIRROR_PATH = { path: 'mirror' };

interface Entry {
  json: Buffer;
  ids: { tracks: string[]; albums: string[]; artists: string[] };
}

const EMPTY: Entry = {
  json: Buffer.from(JSON.stringify({ tracks: [], albums: [], artists: [], genres: [] })),
  ids: { tracks: [], albums: [], artists: [] },
};

export class PgCatalogSearch implements LocalSearch {
  private readonly ranker: PgRanker;
  /** The in-memory plan (search-pg-mirror.ts); null when turned off (tests of the SQL plan alone). */
  readonly mirror: PgMirrorRanker | null;
  private readonly watch: PgWriteWatch;
  /** Answers, misses in flight (concurrent askers share one ranking), FTS queries, idle drop. */
  private readonly answers: AnswerCache<Entry>;
  private readonly usersWithLikes = new Map<string, boolean>();
  private catalog = '';
  private writes = '';
  /** When the last poll answered, and how old it may be to answer from it. */
  private polledAt = Number.NEGATIVE_INFINITY;
  private readonly freshMs: number;

  constructor(
    private readonly db: Kysely<Database>,
    options: { pollEveryMs?: number; mirrors?: boolean } = {},
  ) {
    this.ranker = new PgRanker(db);
    this.answers = new AnswerCache<Entry>(() => {
      this.usersWithLikes.clear();
      this.ranker.clear();
      this.mirror?.clear();
      this.catalog = '';
      this.writes = '';
      this.polledAt = Number.NEGATIVE_INFINITY;
      this.watch.reset();
    });
    // Polled at half the interval, in the background of requests answered from the last poll
    // (see ranked): a request waits for a poll only when the last one is a whole interval old.
    this.freshMs = options.pollEveryMs ?? POLL_EVERY_MS;
    this.watch = new PgWriteWatch(db, this.freshMs / 2);
    this.mirror =
      options.mirrors === false
        ? null
        : new PgMirrorRanker(db, () => this.watch.refresh().then((state) => this.apply(state)));
  }

  /** Whether the mirrors are built for the catalog version last polled (benches wait for it). */
  get mirrorsWarm(): boolean {
    return this.mirror === null || this.mirror.readyFor(this.catalog);
  }
  /** Misses answered by the mirrors (benches, tests); there is no reader thread here. */
  answeredInMemory = 0;
  readonly readerAnswered = 0;

  dropAnswers(): void {
    this.answers.clear();
  }

  async close(): Promise<void> {
    this.answers.close();
    this.mirror?.clear();
  }

  /** Applies a poll: any write forgets who likes what; a catalog change drops the answers. */
  private apply(state: PgWatchState): string {
    if (state.writes !== this.writes) {
      this.writes = state.writes;
      this.usersWithLikes.clear();
    }
    if (state.catalog !== this.catalog) {
      this.catalog = state.catalog;
      this.answers.clear();
    }
    return this.catalog;
  }

  private ranked(match: string, sizes: Sizes): Entry | Promise<Entry> {
    const started = performance.now();
    // This process's own write (an added remote track, a scan) is seen by its next search at once.
    const ownWrite = this.watch.ownWritesPending;
    const state = this.watch.currentState();
    if (!(state instanceof Promise)) return this.rankedAt(this.apply(state), match, sizes, started);
    const polled = state.then((s) => {
      this.polledAt = Date.now();
      return this.apply(s);
    });
    // A poll is due (half the interval passed): while the last one is younger than the interval,
    // answer from it rather than wait a round trip, so a write by any replica is still seen
    // within the interval (plus one round trip) but requests do not queue behind every poll.
    if (!ownWrite && Date.now() - this.polledAt < this.freshMs) {
      polled.catch(() => {}); // a failed poll is retried by the next request
      return this.rankedAt(this.catalog, match, sizes, started);
    }
    return polled.then((v) => this.rankedAt(v, match, sizes, started));
  }

  private rankedAt(version: string, match: string, sizes: Sizes, started: number): Entry | Promise<Entry> {
    const key = cacheKey(match, sizes);
    const hit = this.answers.get(key);
    if (hit) {
      telemetry.time('earshot_search_duration_seconds', CACHE_PATH, started);
      return hit;
    }
    const mirrored = this.mirror?.rankJson(match, sizes, version) ?? null;
    if (mirrored !== null && !(mirrored instanceof Promise)) return this.mirrored(key, mirrored, version, started);
    return this.answers.shared(`${version}\u0000${key}`, () => {
      const sqlPlan = () =>
        this.ranker.rank(match, sizes, version).then((ranked) => {
          const entry = entryOf(toRankedJson(ranked));
          // Kept only if the catalog did not move meanwhile (as far as the last poll knows).
          if (this.catalog === version) this.remember(key, entry);
          telemetry.time('earshot_search_duration_seconds', PG_PATH, started);
          return entry;
        });
      // The mirror may first need PostgreSQL to fold a word beyond ASCII (one short statement, kept).
      return mirrored instanceof Promise
        ? mirrored.then((m) => (m ? this.mirrored(key, m, version, started) : sqlPlan()))
        : sqlPlan();
    });
  }

  private mirrored(key: string, ranked: RankedJson, version: string, started: number): Entry {
    const entry = entryOf(ranked);
    if (this.catalog === version) this.remember(key, entry);
    this.answeredInMemory++;
    telemetry.time('earshot_search_duration_seconds', MIRROR_PATH, started);
    return entry;
  }

  private remember(key: string, entry: Entry): void {
    this.answers.remember(key, entry, entry.json.length);
  }

  /** The caller's liked items among the answer (`type:id`), null when none (most users, most answers). */
  private async likedIn(entry: Entry, userId: string | null): Promise<Set<string> | null> {
    const { tracks, albums, artists } = entry.ids;
    if (!userId || tracks.length + albums.length + artists.length === 0) return null;
    const writes = this.writes;
    let has = this.usersWithLikes.get(userId);
    if (has === undefined) {
      has =
        (await this.db
          .selectFrom('user_activity')
          .select('item_id')
          .where('user_id', '=', userId)
          .where('is_liked', '=', 1)
          .limit(1)
          .executeTakeFirst()) !== undefined;
      if (writes === this.writes) {
        if (this.usersWithLikes.size >= 64) this.usersWithLikes.clear();
        this.usersWithLikes.set(userId, has);
      }
    }
    if (!has) return null;
    const rows = await this.db
      .selectFrom('user_activity')
      .select(['item_type', 'item_id'])
      .where('user_id', '=', userId)
      .where('is_liked', '=', 1)
      .where((eb) =>
        eb.or(
          (
            [
              ['track', tracks],
              ['album', albums],
              ['artist', artists],
            ] as const
          )
            .filter(([, ids]) => ids.length > 0)
            .map(([type, ids]) => eb.and([eb('item_type', '=', type), eb('item_id', 'in', [...ids])])),
        ),
      )
      .execute();
    return rows.length === 0 ? null : new Set(rows.map((r) => `${r.item_type}:${r.item_id}`));
  }

  private entryFor(q: string, limits: SearchLimits): Entry | Promise<Entry> {
    const match = this.answers.matchOf(q, toFtsQuery);
    if (!match) return EMPTY;
    const entry = this.ranked(match, sizesOf(limits));
    this.answers.used();
    return entry;
  }

  async searchIds(q: string, limits: SearchLimits = {}): Promise<SearchIds> {
    return (await this.entryFor(q, limits)).ids;
  }

  async search(q: string, userId: string | null, limits: SearchLimits = {}): Promise<SearchSections> {
    const entry = await this.entryFor(q, limits);
    return sectionsOf(entry, await this.likedIn(entry, userId));
  }

  /**
   * The answer as UTF-8 JSON for the HTTP route: the cached bytes when none of the results is
   * liked by the caller (the usual case), else the route's serializer over the flagged sections.
   */
  searchJson(
    q: string,
    userId: string | null,
    limits: SearchLimits,
    serialize: (sections: SearchSections) => string,
  ): string | Buffer | Promise<string | Buffer> {
    const entry = this.entryFor(q, limits);
    const finish = (e: Entry): string | Buffer | Promise<string | Buffer> => {
      const ids = e.ids;
      // Nobody signed in, an empty answer, or a user known to like nothing: the bytes as they are.
      if (!userId || ids.tracks.length + ids.albums.length + ids.artists.length === 0) return e.json;
      if (this.usersWithLikes.get(userId) === false) return e.json;
      return this.likedIn(e, userId).then((liked) => (liked ? serialize(sectionsOf(e, liked)) : e.json));
    };
    return entry instanceof Promise ? entry.then(finish) : finish(entry);
  }
}

const entryOf = ({ json, ids }: RankedJson): Entry => ({
  json: Buffer.from(json.buffer, json.byteOffset, json.byteLength),
  ids,
});

/** Fresh objects every time (callers may decorate what they get), with the caller's liked flags. */
function sectionsOf(entry: Entry, liked: Set<string> | null): SearchSections {
  const parsed = JSON.parse(entry.json.toString()) as SearchSections;
  if (liked) {
    for (const t of parsed.tracks) t.liked = liked.has(`track:${t.id}`);
    for (const a of parsed.albums) a.liked = liked.has(`album:${a.id}`);
    for (const a of parsed.artists) a.liked = liked.has(`artist:${a.id}`);
  }
  return parsed;
}
