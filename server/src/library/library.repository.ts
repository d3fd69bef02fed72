/**
 * SQL of the scanner. The hot path (thousands of rows per second) uses prepared better-sqlite3
 * statements in explicit transactions: Kysely's per-query promise costs more than the insert.
 * Everything here is synchronous and bounded by the caller's batch size.
 */
import type SQLite from 'better-sqlite3';
import { randomFillSync } from 'node:crypto';
import { GroupingCache, type NewGroupRows } from './grouping-cache.js';
import type { TrackTags } from './tags.js';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ID_LENGTH = 22;
const pool = Buffer.alloc(16 * 1024);
let poolAt = pool.length;

/** Leading characters of a scan id that tell its time (base62 milliseconds: until the year 8888). */
const TIME_CHARS = 8;
/** The same 62 characters in byte order, so that the time prefix sorts as the time does. */
const SORTED_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
let lastMs = -1;
let lastPrefix = '';

/**
 * Ids of the same format as `newId()` (22 base62 chars) for the scan's thousands of rows, that
 * sort in the order they were made: 8 characters of the time in milliseconds, then 14 random
 * ones (83 bits from a CSPRNG, rejection-sampled, drawn from a buffer refilled 16 KiB at a time
 * instead of one `randomBytes` call per id, ~20 µs each here). Every index keyed by a track,
 * album or artist id (`tracks`' primary key, `search_keys`, `track_artists`, `track_genres`)
 * then grows at its right edge instead of at a random page: a 50,000-track scan's writes need far
 * fewer pages in the cache (0.25 → 0.17 ms of CPU per track with an 8 MB page cache,
 * bench/README.md "Full-scan regression"). Ids stay opaque keys; they tell when the row was
 * made, as `added_at` does.
 */
export function scanId(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    let prefix = '';
    for (let n = now, i = 0; i < TIME_CHARS; i++, n = Math.floor(n / 62)) prefix = SORTED_ALPHABET[n % 62] + prefix;
    lastPrefix = prefix;
  }
  let out = lastPrefix;
  while (out.length < ID_LENGTH) {
    if (poolAt >= pool.length) {
      randomFillSync(pool);
      poolAt = 0;
    }
    const b = pool[poolAt++];
    if (b < 248) out += ALPHABET[b % 62];
  }
  return out;
}

export interface KnownTrack {
  id: string;
  local_path: string;
  size: number | null;
  mtime: number | null;
  content_hash: string | null;
  duration: number | null;
  title: string;
  artist: string | null;
  album: string | null;
}

/** What the diff compares a walked file with: a local track's size and mtime (by path). */
export interface FileStamp {
  size: number | null;
  mtime: number | null;
}

/** A local track's stamp and id. */
export interface TrackStamp extends FileStamp {
  id: string;
}

export interface TrackWrite {
  id: string;
  rel: string;
  size: number;
  mtime: number;
  fingerprint: string;
  tags: TrackTags;
  artworkId: string | null;
  addedAt: number | null; // null: keep the row's
}

export const TRACK_COLUMNS = [
  'local_path',
  'title',
  'artist',
  'album',
  'album_artist',
  'album_id',
  'artist_id',
  'track_number',
  'track_total',
  'disc_number',
  'disc_total',
  'year',
  'date',
  'genre',
  'compilation',
  'duration',
  'format',
  'codec',
  'bitrate',
  'sample_rate',
  'channels',
  'size',
  'mtime',
  'content_hash',
  'rg_track_gain',
  'rg_track_peak',
  'rg_album_gain',
  'rg_album_peak',
  'mbz_track_id',
  'mbz_recording_id',
  'mbz_album_id',
  'mbz_artist_id',
  'mbz_album_artist_id',
  'lyrics',
  'comment',
  'artwork_id',
  'updated_at',
] as const;

export class LibraryRepository {
  private readonly cache = new GroupingCache();
  /** New artist, genre and album rows go straight to their statements. */
  private readonly newRows: NewGroupRows;
  private readonly stmt;

  constructor(private readonly sqlite: SQLite.Database) {
    const s = (q: string) => sqlite.prepare(q);
    this.stmt = {
      // Positional parameters (TRACK_COLUMNS order): binding 40 named ones from an object costs more.
      insertTrack: s(
        `insert into tracks (${TRACK_COLUMNS.join(', ')}, added_at, id, source_type) values (${TRACK_COLUMNS.map(() => '?').join(', ')}, ?, ?, 'local')`,
      ),
      updateTrack: s(
        `update tracks set ${TRACK_COLUMNS.map((c) => `${c} = ?`).join(', ')}, added_at = coalesce(?, added_at) where id = ?`,
      ),
      clearArtists: s('delete from track_artists where track_id = ?'),
      addArtist: s('insert or ignore into track_artists (track_id, artist_id, role, position) values (?, ?, ?, ?)'),
      clearGenres: s('delete from track_genres where track_id = ?'),
      addGenre: s('insert or ignore into track_genres (track_id, genre_id) values (?, ?)'),
      insertArtist: s(
        'insert into artists (id, name, name_key, mbz_artist_id, added_at, updated_at) values (?, ?, ?, ?, ?, ?)',
      ),
      insertGenre: s('insert into genres (id, name, name_key) values (?, ?, ?)'),
      insertAlbum: s(
        `insert into albums (id, name, group_key, album_artist, artist_id, year, genre, compilation, mbz_album_id, added_at, updated_at)
         values (@id, @name, @group_key, @album_artist, @artist_id, @year, @genre, @compilation, @mbz_album_id, @added_at, @updated_at)`,
      ),
      insertArtwork: s(
        'insert or ignore into artwork (id, path, mime, size, source, created_at) values (?, ?, ?, ?, ?, ?)',
      ),
      deleteTrack: s("delete from tracks where id = ? and source_type = 'local'"),
      upsertError: s(
        `insert into scan_errors (local_path, reason, size, mtime, seen_at) values (?, ?, ?, ?, ?)
         on conflict(local_path) do update set reason = excluded.reason, size = excluded.size, mtime = excluded.mtime, seen_at = excluded.seen_at`,
      ),
      deleteError: s('delete from scan_errors where local_path = ?'),
    };
    const stmt = this.stmt;
    this.newRows = {
      artist: (r) => stmt.insertArtist.run(r.id, r.name, r.name_key, r.mbz_artist_id, r.added_at, r.updated_at),
      genre: (r) => stmt.insertGenre.run(r.id, r.name, r.name_key),
      album: (r) => stmt.insertAlbum.run(r),
    };
  }

  /** Loads the grouping caches (name keys → ids) once per scan. */
  loadCaches(): void {
    const rows = <T>(q: string) => this.sqlite.prepare(q).iterate() as Iterable<T>;
    this.cache.load(
      rows<{ id: string; name_key: string }>('select id, name_key from artists'),
      rows<{ id: string; name_key: string }>('select id, name_key from genres'),
      rows<{ id: string; group_key: string }>('select id, group_key from albums'),
      rows<{ id: string }>('select id from artwork'),
    );
  }

  hasArtwork(id: string): boolean {
    return this.cache.hasArtwork(id);
  }

  localTracks(): KnownTrack[] {
    return this.sqlite
      .prepare(
        "select id, local_path, size, mtime, content_hash, duration, title, artist, album from tracks where source_type = 'local' and local_path is not null",
      )
      .all() as KnownTrack[];
  }

  /**
   * Every local track's id, size and mtime by relative path: what a rescan compares 50,000 files
   * with. Rows come as arrays (`raw`), the cheapest form better-sqlite3 returns; the columns a
   * move needs are loaded only for the tracks that went missing (`knownTracks`).
   */
  localTrackStamps(): Map<string, FileStamp> {
    const stamps = new Map<string, FileStamp>();
    const rows = this.sqlite
      // Read from the covering index tracks_local_stamp (migration 0023), not the wide rows; no
      // ids (localTrackIds gives those of the few tracks a scan reads or removes).
      .prepare(
        "select local_path, size, mtime from tracks where source_type = 'local' and local_path is not null order by local_path",
      )
      .raw()
      // iterate(), not all(): each row's array dies young; all() held 50,000 of them at once and
      // cost more CPU in a fresh process (bench/README.md, "Scan memory and speed, scan5").
      .iterate() as Iterable<[string, number | null, number | null]>;
    for (const [path, size, mtime] of rows) stamps.set(path, { size, mtime });
    return stamps;
  }

  /** The ids of the local tracks at these relative paths (null: of every local track), by path. */
  localTrackIds(paths: string[] | null): Map<string, string> {
    const ids = new Map<string, string>();
    if (paths === null) {
      const rows = this.sqlite
        .prepare("select local_path, id from tracks where source_type = 'local' and local_path is not null")
        .raw()
        .iterate() as Iterable<[string, string]>;
      for (const [path, id] of rows) ids.set(path, id);
      return ids;
    }
    for (let i = 0; i < paths.length; i += 500) {
      const chunk = paths.slice(i, i + 500);
      const rows = this.sqlite
        .prepare(
          `select local_path, id from tracks where source_type = 'local' and local_path in (${chunk.map(() => '?').join(', ')})`,
        )
        .raw()
        .all(chunk) as [string, string][];
      for (const [path, id] of rows) ids.set(path, id);
    }
    return ids;
  }

  /** The local tracks with these ids, with the columns that tell a move (content hash, duration, tags). */
  knownTracks(ids: string[]): KnownTrack[] {
    const out: KnownTrack[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      out.push(
        ...(this.sqlite
          .prepare(
            `select id, local_path, size, mtime, content_hash, duration, title, artist, album from tracks
             where source_type = 'local' and id in (${chunk.map(() => '?').join(', ')})`,
          )
          .all(chunk) as KnownTrack[]),
      );
    }
    return out;
  }

  scanErrors(): Map<string, { size: number; mtime: number }> {
    const rows = this.sqlite.prepare('select local_path, size, mtime from scan_errors').all() as {
      local_path: string;
      size: number;
      mtime: number;
    }[];
    return new Map(rows.map((r) => [r.local_path, { size: r.size, mtime: r.mtime }]));
  }

  /** Files that cannot be read now (their `scan_errors` rows). */
  unreadableCount(): number {
    return (this.sqlite.prepare('select count(*) n from scan_errors').get() as { n: number }).n;
  }

  /** Writes one batch of read files (new, changed or moved) and their groupings in one transaction. */
  writeBatch(
    batch: {
      insert: TrackWrite[];
      update: TrackWrite[];
      errors: { rel: string; reason: string; size: number; mtime: number }[];
    },
    artwork: { id: string; path: string; mime: string; size: number; source: 'embedded' | 'file' }[],
    readOk: string[],
    now: number,
  ): void {
    this.sqlite.transaction(() => {
      for (const a of artwork) {
        this.stmt.insertArtwork.run(a.id, a.path, a.mime, a.size, a.source, now);
        this.cache.addArtwork(a.id);
      }
      for (const w of batch.insert) this.writeTrack(w, true, now);
      for (const w of batch.update) this.writeTrack(w, false, now);
      for (const e of batch.errors) this.stmt.upsertError.run(e.rel, e.reason, e.size, e.mtime, now);
      for (const rel of readOk) this.stmt.deleteError.run(rel);
    })();
  }

  private writeTrack(w: TrackWrite, insert: boolean, now: number): void {
    const { artistIds, albumArtistId, albumId, genreIds } = this.cache.track(w.tags, w.rel, now, this.newRows);
    const row = trackValues(w, albumId, artistIds[0] ?? null, now, insert);
    if (insert) this.stmt.insertTrack.run(row);
    else {
      this.stmt.updateTrack.run(row);
      this.stmt.clearArtists.run(w.id);
      this.stmt.clearGenres.run(w.id);
    }
    for (const [i, artistId] of artistIds.entries()) this.stmt.addArtist.run(w.id, artistId, 'artist', i);
    this.stmt.addArtist.run(w.id, albumArtistId, 'albumartist', 0);
    for (const genreId of genreIds) this.stmt.addGenre.run(w.id, genreId);
  }

  deleteTracks(ids: string[]): void {
    this.sqlite.transaction(() => {
      for (const id of ids) this.stmt.deleteTrack.run(id);
    })();
  }

  /** Drops the errors of files `keep` does not keep (gone from the folders a scan walked). */
  deleteErrorsNotIn(keep: (rel: string) => boolean): void {
    const stale = [...this.scanErrors().keys()].filter((p) => !keep(p));
    this.sqlite.transaction(() => {
      for (const p of stale) this.stmt.deleteError.run(p);
    })();
  }

  /** Folders (relative) with a local track whose artwork is a folder image. */
  dirsShowingFolderArt(): Set<string> {
    const dirs = new Set<string>();
    const rows = this.sqlite
      .prepare(
        "select t.local_path p from tracks t join artwork a on a.id = t.artwork_id where t.source_type = 'local' and a.source = 'file'",
      )
      .pluck()
      .all() as string[];
    for (const p of rows) {
      const i = p.lastIndexOf('/');
      dirs.add(i < 0 ? '' : p.slice(0, i));
    }
    return dirs;
  }

  /** Whether a local track directly in folder `dir` shows artwork `id`. */
  dirShowsArtwork(dir: string, id: string): boolean {
    // A range over the local_path index: 'dir/' ≤ path < 'dir0' ('0' follows '/').
    const rows = this.sqlite
      .prepare(
        "select local_path from tracks where source_type = 'local' and local_path >= ? and local_path < ? and artwork_id = ?",
      )
      .pluck()
      .all(dir === '' ? '' : `${dir}/`, dir === '' ? '\u{10ffff}' : `${dir}0`, id) as string[];
    const from = dir === '' ? 0 : dir.length + 1;
    return rows.some((p) => !p.includes('/', from));
  }

  /**
   * Deletes the scanner's artwork rows (embedded pictures, folder images) that no track, album or
   * artist refers to; returns their paths (relative to the cache dir) for the files to go too.
   */
  deleteUnusedArtwork(): string[] {
    const paths = this.sqlite
      .prepare(
        `delete from artwork where source in ('embedded', 'file') and id not in (
           select artwork_id from tracks where artwork_id is not null
           union select artwork_id from albums where artwork_id is not null
           union select artwork_id from artists where artwork_id is not null)
         returning path`,
      )
      .pluck()
      .all() as string[];
    // The known-artwork cache may now list deleted rows: runs after the scan's last write, and the
    // next scan's diff reloads it.
    if (paths.length > 0) this.cache.forgetArtwork();
    return paths;
  }

  /** The scanner's artwork rows (embedded pictures, folder images). */
  scannerArtwork(): { id: string; path: string; size: number }[] {
    return this.sqlite.prepare("select id, path, size from artwork where source in ('embedded', 'file')").all() as {
      id: string;
      path: string;
      size: number;
    }[];
  }

  /** Deletes artwork rows (tracks and albums showing them lose their artwork until it is stored again). */
  deleteArtwork(ids: string[]): void {
    const del = this.sqlite.prepare('delete from artwork where id = ?');
    this.sqlite.transaction(() => {
      for (const id of ids) del.run(id);
    })();
  }

  /** Every artwork file the DB knows (relative to the cache dir), of any source. */
  artworkPaths(): Set<string> {
    return new Set(this.sqlite.prepare('select path from artwork').pluck().all() as string[]);
  }

  /**
   * Caps this connection's page cache at `kib` KiB until the returned function restores it. A
   * scan touches every page of the catalog once; with the connection's usual 16 MB cache those
   * pages stayed resident (~12 MB of a 20k scan's peak RSS, and of the idle RSS after it),
   * while a 4 MB cache measured no slower for the batch writes. Lowering the limit frees the
   * pages above it at once.
   */
  limitPageCache(kib: number): () => void {
    const before = this.sqlite.pragma('cache_size', { simple: true }) as number;
    // Negative: KiB; positive: pages (of page_size bytes).
    const current =
      before < 0 ? -before : (before * (this.sqlite.pragma('page_size', { simple: true }) as number)) / 1024;
    if (current <= kib) return () => {};
    this.sqlite.pragma(`cache_size = -${Math.floor(kib)}`);
    return () => {
      if (this.sqlite.open) this.sqlite.pragma(`cache_size = ${before}`);
    };
  }

  /**
   * Checkpoints the WAL every `pages` pages (instead of SQLite's 1,000) until the returned
   * function restores the setting and checkpoints what is left. A scan's batches rewrite the
   * same pages (index edges, FTS segments) commit after commit: each checkpoint copies them into
   * the database file and syncs it, on the main thread, at the end of the commit that crossed the
   * threshold. Spaced 8× further apart a page is copied once for many commits, and a batch write
   * costs ~10 % less CPU and far less wall time (bench/README.md, "Scan memory and speed, scan5").
   * The WAL file grows to about `pages` × 4 KiB meanwhile (it is truncated when the server
   * closes). The final checkpoint is PASSIVE: it never waits for a reader. It is skipped when
   * another piece of work has a transaction open on this connection at that moment (a download
   * job's writes span event-loop turns; SQLite refuses a checkpoint inside a transaction with
   * SQLITE_LOCKED): the next commit past the restored threshold checkpoints instead. A failure here
   * once left the scan's run 'running' (crash suite, seed 2056868552).
   */
  spaceCheckpoints(pages: number): () => void {
    const before = this.sqlite.pragma('wal_autocheckpoint', { simple: true }) as number;
    if (before <= 0 || before >= pages) return () => {}; // off, or already as spaced
    this.sqlite.pragma(`wal_autocheckpoint = ${Math.floor(pages)}`);
    return () => {
      if (!this.sqlite.open) return;
      this.sqlite.pragma(`wal_autocheckpoint = ${before}`);
      if (this.sqlite.inTransaction) return;
      try {
        this.sqlite.pragma('wal_checkpoint(PASSIVE)');
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code !== 'SQLITE_LOCKED' && code !== 'SQLITE_BUSY') throw err;
      }
    };
  }

  /**
   * Drops the rescan's covering index (`tracks_local_stamp`, migration 0023) before a scan
   * writes many rows: kept up to date row by row it cost ~0.04 ms of the main thread's time per
   * inserted track (another B-tree keyed by path), built once at the end it is one sort.
   * {@link restoreStampIndex} builds it again; a scan killed in between leaves it missing, which
   * only makes the next rescan's stamp read a table scan until that scan's end rebuilds it.
   */
  suspendStampIndex(): void {
    this.sqlite.exec(`drop index if exists ${STAMP_INDEX}`);
  }

  /** Builds `tracks_local_stamp` when it is missing (after a large scan, or one killed half-way). */
  restoreStampIndex(): void {
    this.sqlite.exec(STAMP_INDEX_SQL);
  }

  /** Drops the grouping caches between scans (the next scan's diff reloads them): idle memory. */
  clearCaches(): void {
    this.cache.clear();
  }
}

/** The covering index of migration 0023 (same definition: the rescan's diff reads it). */
const STAMP_INDEX = 'tracks_local_stamp';
const STAMP_INDEX_SQL = `create index if not exists ${STAMP_INDEX} on tracks(local_path, size, mtime, id) where source_type = 'local'`;

/** A track's values in TRACK_COLUMNS order, then added_at (null: keep the row's) and id. */
export function trackValues(
  w: TrackWrite,
  albumId: string,
  artistId: string | null,
  now: number,
  insert: boolean,
): unknown[] {
  const t = w.tags;
  return [
    w.rel,
    t.title,
    t.artists.join(', '),
    t.album,
    t.albumArtist,
    albumId,
    artistId,
    t.trackNumber,
    t.trackTotal,
    t.discNumber,
    t.discTotal,
    t.year,
    t.date,
    t.genres.length > 0 ? t.genres.join(', ') : null,
    t.compilation ? 1 : 0,
    t.duration,
    t.format,
    t.codec,
    t.bitrate,
    t.sampleRate,
    t.channels,
    w.size,
    w.mtime,
    w.fingerprint,
    t.rgTrackGain,
    t.rgTrackPeak,
    t.rgAlbumGain,
    t.rgAlbumPeak,
    t.mbzTrackId,
    t.mbzRecordingId,
    t.mbzAlbumId,
    t.mbzArtistId,
    t.mbzAlbumArtistId,
    t.lyrics,
    t.comment,
    w.artworkId,
    now,
    insert ? now : w.addedAt,
    w.id,
  ];
}
