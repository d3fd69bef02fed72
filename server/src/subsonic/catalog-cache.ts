/**
 * What Subsonic apps ask for again and again, kept in memory while it cannot have changed, so the
 * hot methods (getAlbumList2, search3, every song list) cost a few map lookups instead of a
 * dozen queries:
 *  - album and artist rows, song rows with their credits and genres, and the album order of each
 *    catalog-wide list type (newest, alphabetical, by year, by genre): valid while the catalog
 *    version (migration 0008: any change to tracks, albums, artists, genres) holds;
 *  - `onWrite` listeners (the authentication cache): dropped at any write at all.
 * Writes are noticed the way the session cache and search notice them (db/write-watch.ts): on
 * SQLite this connection's change counter at once, other processes' commits (the CLI) within
 * 250 ms; on PostgreSQL any replica's writes within 250 ms (a polled snapshot and catalog version). A value
 * read while a write happened is not kept. Everything is bounded and dropped after 5 idle minutes
 * (phones and Pis).
 */
import type { AlbumRow, Annotation, ArtistRow, BrowseRepository, SongRow } from '../catalog/browse.repository.js';
import type { SongWithExtras } from '../catalog/song-extras.js';
import type { WriteWatcher } from '../db/write-watch.js';

/** Rows kept per kind; past this the kind starts over (a library sync pages through everything). */
const MAX_ROWS = 6000;
/** Album orders kept (list type × year range × genre). */
const MAX_ORDERS = 64;
const IDLE_DROP_MS = 5 * 60_000;

/** A song row with what every Child node needs besides the caller's annotations. */
export type CachedSong = SongWithExtras;

/** A bounded map that starts over when full (cheaper than LRU bookkeeping on every hit). */
class Bounded<V> extends Map<string, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(key: string, value: V): this {
    if (this.size >= this.max && !this.has(key)) this.clear();
    return super.set(key, value);
  }
}

/**
 * Songs kept least recently used first out, up to the bound: a hit moves the song to the end of
 * the map's order (a delete and a set), a new song past the bound drops the first one. New searches
 * all day long, or a library sync paging through everything, age out what nobody asked for
 * lately. A map emptied when full made every song of the next requests in flight cold at once;
 * two generations of half the bound each thrashed when the songs in use were more than half of it
 * (bench:search's 3,765 songs per format: GC pauses per run 39 → 63).
 */
export class RecentlyUsed<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    const hit = this.map.get(key);
    if (hit !== undefined) {
      this.map.delete(key);
      this.map.set(key, hit);
    }
    return hit;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }
}

/** A value at hand, or a promise of it when it had to be read (callers `await` either). */
export type Maybe<T> = T | Promise<T>;

/** Like `Promise.all` for three values that are usually at hand: no promise when none is one. */
export function allOf<A, B, C>(a: Maybe<A>, b: Maybe<B>, c: Maybe<C>): Maybe<[A, B, C]> {
  if (a instanceof Promise || b instanceof Promise || c instanceof Promise) return Promise.all([a, b, c]);
  return [a, b, c];
}

/** Whether every row of a kind is kept (read at once when the kind fits the bound). */
interface Whole<R> {
  state: 'unknown' | 'reading' | 'all' | 'too many';
  load: (limit: number) => Promise<R[]>;
}

/**
 * `ids` in order from the kept map or what was just read (unknown ids skipped). The kept map is
 * asked first, as before the read: a read that filled the map past its bound cleared it.
 */
function inOrder<R>(ids: readonly string[], kept: Map<string, R>, fetched: Map<string, R>): R[] {
  const out: R[] = [];
  for (const id of ids) {
    const r = kept.get(id) ?? fetched.get(id);
    if (r !== undefined) out.push(r);
  }
  return out;
}

export class CatalogCache {
  private seenWrites = '';
  private version = -1;
  private readonly albums = new Bounded<AlbumRow>(MAX_ROWS);
  private readonly artists = new Bounded<ArtistRow>(MAX_ROWS);
  private readonly songs = new RecentlyUsed<CachedSong>(MAX_ROWS);
  private readonly orders = new Bounded<string[]>(MAX_ORDERS);
  private readonly albumsWhole: Whole<AlbumRow> = { state: 'unknown', load: (n) => this.browse.allAlbums(n) };
  private readonly artistsWhole: Whole<ArtistRow> = { state: 'unknown', load: (n) => this.browse.allArtists(n) };
  private readonly writeListeners: (() => void)[] = [() => this.activity.clear()];
  /** `type NUL user` → whether the user has any activity on that type (until the next write). */
  private readonly activity = new Bounded<boolean>(3000);
  private lastUsed = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  /** The catalog version being read after a write: every request waits for it. */
  private pending: Promise<void> | null = null;

  constructor(
    private readonly browse: BrowseRepository,
    private readonly writes: WriteWatcher,
  ) {}

  /**
   * The caller's stars, ratings and plays for these items. Whether a user has any of a type is
   * kept until the next write: most lists of a new or light user need no annotation query at all,
   * and get their (empty) answer at once, with no promise.
   */
  annotations(userId: string, type: 'track' | 'album' | 'artist', ids: string[]): Maybe<Map<string, Annotation>> {
    if (ids.length === 0) return new Map();
    const key = `${type}\u0000${userId}`;
    // A write since this request began (its own star, say) is not in the kept flag yet.
    const has = this.writes.token() === this.seenWrites ? this.activity.get(key) : undefined;
    if (has === false) return new Map();
    return this.readAnnotations(userId, type, ids, key, has);
  }

  private async readAnnotations(
    userId: string,
    type: 'track' | 'album' | 'artist',
    ids: string[],
    key: string,
    known: boolean | undefined,
  ): Promise<Map<string, Annotation>> {
    let has = known;
    if (has === undefined) {
      const token = this.seenWrites;
      has = await this.browse.hasActivity(userId, type);
      if (this.keepable(token)) this.activity.set(key, has);
    }
    return has ? this.browse.annotations(userId, type, ids) : new Map();
  }

  /** `fn` runs whenever anything was written (before the next request is served). */
  onWrite(fn: () => void): void {
    this.writeListeners.push(fn);
  }

  /** Drops what a write made stale; called once at the start of every request. */
  async refresh(): Promise<void> {
    this.lastUsed = Date.now();
    this.armIdleDrop();
    const current = this.writes.current();
    // A value on SQLite (no promise per request); PostgreSQL polls at most every 250 ms.
    const token = typeof current === 'string' ? current : await current;
    if (token !== this.seenWrites) {
      this.seenWrites = token;
      for (const fn of this.writeListeners) fn();
      this.pending = this.checkVersion().finally(() => {
        this.pending = null;
      });
    }
    if (this.pending) await this.pending;
  }

  private async checkVersion(): Promise<void> {
    const version = await this.browse.catalogVersion();
    if (version !== this.version) {
      this.version = version;
      this.clearCatalog();
    }
  }

  /** Whether a value read since `token` may be kept (nothing written meanwhile, no open transaction). */
  private keepable(token: string): boolean {
    return token === this.seenWrites && this.writes.token() === token && !this.writes.inTransaction();
  }

  /**
   * Ids in a catalog-wide order (`key` names the kind, the order and its filters: album list
   * types, the whole library by id for offline sync).
   */
  async order(key: string, load: () => Promise<string[]>): Promise<string[]> {
    const hit = this.orders.get(key);
    if (hit) return hit;
    const token = this.seenWrites;
    const ids = await load();
    if (this.keepable(token)) this.orders.set(key, ids);
    return ids;
  }

  albumsByIds(ids: string[]): Maybe<AlbumRow[]> {
    return this.rows(this.albums, ids, (missing) => this.browse.albumsByIds(missing), this.albumsWhole);
  }

  artistsByIds(ids: string[]): Maybe<ArtistRow[]> {
    return this.rows(this.artists, ids, (missing) => this.browse.artistsByIds(missing), this.artistsWhole);
  }

  /**
   * Songs by id in the order asked (unknown ids skipped), with credits and genres; at once when
   * every one is kept (a warm search3: plain loops, no closures, no promise).
   */
  songsByIds(ids: string[]): Maybe<CachedSong[]> {
    const out: CachedSong[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const kept = this.songs.get(id);
      if (kept) out.push(kept);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    return this.readSongs(ids, missing);
  }

  /** Rows, credits and genres of the songs not kept, in one statement. */
  private async readSongs(ids: string[], missing: string[]): Promise<CachedSong[]> {
    // The kept ones as they are now: keeping what the read brings may age them out of the cache.
    const found = new Map<string, CachedSong>();
    for (const id of ids) {
      const kept = this.songs.get(id);
      if (kept) found.set(id, kept);
    }
    const token = this.seenWrites;
    const read = await this.browse.songsWithExtras(missing);
    const keep = this.keepable(token);
    for (const song of read) {
      found.set(song.row.id, song);
      if (keep) this.songs.set(song.row.id, song);
    }
    const out: CachedSong[] = [];
    for (const id of ids) {
      const song = found.get(id);
      if (song) out.push(song);
    }
    return out;
  }

  /** Credits and genres for rows the caller already has (from any list query). */
  async songExtras(rows: SongRow[]): Promise<CachedSong[]> {
    const found = new Map<string, CachedSong>();
    const missing: SongRow[] = [];
    for (const row of rows) {
      const kept = this.songs.get(row.id);
      if (kept) found.set(row.id, kept);
      else missing.push(row);
    }
    if (missing.length) for (const [id, song] of await this.loadSongs(missing)) found.set(id, song);
    // The caller's row wins: it is at least as fresh as the kept one.
    return rows.map((row) => {
      const kept = found.get(row.id) as CachedSong;
      return kept.row === row ? kept : { ...kept, row };
    });
  }

  private async loadSongs(rows: SongRow[]): Promise<Map<string, CachedSong>> {
    const token = this.seenWrites;
    const ids = rows.map((r) => r.id);
    const [credits, genres] = await Promise.all([this.browse.creditsOf(ids), this.browse.genresOf(ids)]);
    const out = new Map<string, CachedSong>();
    const keep = this.keepable(token);
    for (const row of rows) {
      const song = { row, credits: credits.get(row.id) ?? [], genres: genres.get(row.id) };
      out.set(row.id, song);
      if (keep) this.songs.set(row.id, song);
    }
    return out;
  }

  /** Rows by id in the order asked, at once when every one is kept. */
  private rows<R extends { id: string }>(
    map: Bounded<R>,
    ids: string[],
    load: (ids: string[]) => Promise<R[]>,
    whole: Whole<R>,
  ): Maybe<R[]> {
    const out: R[] = [];
    let missing = false;
    for (const id of ids) {
      const kept = map.get(id);
      if (kept) out.push(kept);
      else missing = true;
    }
    // Every row is kept already when the whole kind is: what is missing does not exist (ids from a stale client).
    if (!missing || whole.state === 'all') return out;
    return this.readRows(map, ids, load, whole);
  }

  private async readRows<R extends { id: string }>(
    map: Bounded<R>,
    ids: string[],
    load: (ids: string[]) => Promise<R[]>,
    whole: Whole<R>,
  ): Promise<R[]> {
    const token = this.seenWrites;
    if (whole.state === 'unknown') {
      // The first miss reads the whole kind once when it fits the bound (a library's albums and
      // artists usually do): search3 and getAlbumList2 then never wait for a row read again.
      whole.state = 'reading';
      // A failed read is not this request's failure: the rows are read one by one below.
      const all = await whole.load(MAX_ROWS + 1).catch(() => null);
      if (all && all.length <= MAX_ROWS && this.keepable(token) && whole.state === 'reading') {
        map.clear();
        for (const r of all) map.set(r.id, r);
        whole.state = 'all';
        return inOrder(ids, map, new Map());
      }
      // Too many (or a write meanwhile): row by row, as before; tried again after the next change.
      if (whole.state === 'reading') whole.state = all && all.length > MAX_ROWS ? 'too many' : 'unknown';
    }
    const missing = ids.filter((id) => !map.has(id));
    const rows = missing.length ? await load(missing) : [];
    const keep = this.keepable(token);
    const fetched = new Map<string, R>();
    for (const r of rows) {
      fetched.set(r.id, r);
      if (keep) map.set(r.id, r);
    }
    return inOrder(ids, map, fetched);
  }

  private clearCatalog(): void {
    this.albums.clear();
    this.artists.clear();
    this.albumsWhole.state = 'unknown';
    this.artistsWhole.state = 'unknown';
    this.songs.clear();
    this.orders.clear();
  }

  private armIdleDrop(): void {
    if (this.idleTimer) return;
    const check = () => {
      const idleFor = Date.now() - this.lastUsed;
      if (idleFor >= IDLE_DROP_MS) {
        this.idleTimer = null;
        this.clearCatalog();
        for (const fn of this.writeListeners) fn();
        this.seenWrites = '';
        this.version = -1;
      } else {
        this.idleTimer = setTimeout(check, IDLE_DROP_MS - idleFor);
        this.idleTimer.unref();
      }
    };
    this.idleTimer = setTimeout(check, IDLE_DROP_MS);
    this.idleTimer.unref();
  }

  /** Stops the idle timer (server shutdown, tests). */
  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}
