/**
 * SQL of the scanner. The hot path (thousands of rows per second) uses prepared better-sqlite3
 * statements in explicit transactions: Kysely's per-query promise costs more than the insert.
 * Everything here is synchronous and bounded by the caller's batch size.
 */
import type SQLite from 'better-sqlite3';
import { randomFillSync } from 'node:crypto';
import { GENRE_COUNTS_SQL } from '../db/migrations/0007_genre_counts.js';
import type { TrackTags } from './tags.js';
import { albumGroupKey, FOLDER_KEY, foldKey, VARIOUS_ARTISTS } from './tags.js';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ID_LENGTH = 22;
const pool = Buffer.alloc(16 * 1024);
let poolAt = pool.length;

/**
 * The same ids as `newId()` (22 base62 chars from a CSPRNG, rejection-sampled) for the scan's
 * thousands of rows, drawn from a buffer of random bytes refilled 16 KiB at a time instead of one
 * `randomBytes` call per id (~20 µs each here).
 */
export function scanId(): string {
  let out = '';
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

const TRACK_COLUMNS = [
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
  private readonly artistIds = new Map<string, string>();
  private readonly genreIds = new Map<string, string>();
  private readonly albumIds = new Map<string, string>();
  private readonly artworkIds = new Set<string>();
  /** foldKey per name seen this scan: the same artists, albums and genres come back on every track. */
  private readonly folded = new Map<string, string>();
  private readonly fold = (name: string): string => {
    let key = this.folded.get(name);
    if (key === undefined) {
      key = foldKey(name);
      if (this.folded.size < 200_000) this.folded.set(name, key);
    }
    return key;
  };
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
         values (@id, @name, @group_key, @album_artist, @artist_id, @year, @genre, @compilation, @mbz_album_id, @now, @now)`,
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
  }

  /** Loads the grouping caches (name keys → ids) once per scan. */
  loadCaches(): void {
    this.artistIds.clear();
    this.genreIds.clear();
    this.albumIds.clear();
    this.artworkIds.clear();
    for (const r of this.sqlite.prepare('select id, name_key from artists').iterate() as Iterable<{
      id: string;
      name_key: string;
    }>)
      this.artistIds.set(r.name_key, r.id);
    for (const r of this.sqlite.prepare('select id, name_key from genres').iterate() as Iterable<{
      id: string;
      name_key: string;
    }>)
      this.genreIds.set(r.name_key, r.id);
    for (const r of this.sqlite.prepare('select id, group_key from albums').iterate() as Iterable<{
      id: string;
      group_key: string;
    }>)
      this.albumIds.set(r.group_key, r.id);
    for (const r of this.sqlite.prepare('select id from artwork').iterate() as Iterable<{ id: string }>)
      this.artworkIds.add(r.id);
  }

  hasArtwork(id: string): boolean {
    return this.artworkIds.has(id);
  }

  localTracks(): KnownTrack[] {
    return this.sqlite
      .prepare(
        "select id, local_path, size, mtime, content_hash, duration, title, artist, album from tracks where source_type = 'local' and local_path is not null",
      )
      .all() as KnownTrack[];
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
        this.artworkIds.add(a.id);
      }
      for (const w of batch.insert) this.writeTrack(w, true, now);
      for (const w of batch.update) this.writeTrack(w, false, now);
      for (const e of batch.errors) this.stmt.upsertError.run(e.rel, e.reason, e.size, e.mtime, now);
      for (const rel of readOk) this.stmt.deleteError.run(rel);
    })();
  }

  private artistId(name: string, mbz: string | null, now: number): string {
    const key = this.fold(name);
    let id = this.artistIds.get(key);
    if (!id) {
      id = scanId();
      this.stmt.insertArtist.run(id, name, key, mbz, now, now);
      this.artistIds.set(key, id);
    }
    return id;
  }

  private genreId(name: string): string {
    const key = this.fold(name);
    let id = this.genreIds.get(key);
    if (!id) {
      id = scanId();
      this.stmt.insertGenre.run(id, name, key);
      this.genreIds.set(key, id);
    }
    return id;
  }

  private albumId(t: TrackTags, rel: string, artistId: string, now: number): string {
    const key = albumGroupKey(t, rel, this.fold);
    let id = this.albumIds.get(key);
    if (!id) {
      id = scanId();
      this.stmt.insertAlbum.run({
        id,
        name: t.album,
        group_key: key,
        album_artist: t.albumArtist,
        artist_id: artistId,
        year: t.year,
        genre: t.genres[0] ?? null,
        compilation: t.compilation ? 1 : 0,
        mbz_album_id: t.mbzAlbumId,
        now,
      });
      this.albumIds.set(key, id);
    }
    return id;
  }

  private writeTrack(w: TrackWrite, insert: boolean, now: number): void {
    const t = w.tags;
    const artistIds = t.artists.map((name, i) => this.artistId(name, i === 0 ? t.mbzArtistId : null, now));
    const albumArtistId = this.artistId(t.albumArtist, t.mbzAlbumArtistId, now);
    const albumId = this.albumId(t, w.rel, albumArtistId, now);
    // TRACK_COLUMNS order, then added_at and id.
    const row = [
      w.rel,
      t.title,
      t.artists.join(', '),
      t.album,
      t.albumArtist,
      albumId,
      artistIds[0] ?? null,
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
    if (insert) this.stmt.insertTrack.run(row);
    else {
      this.stmt.updateTrack.run(row);
      this.stmt.clearArtists.run(w.id);
      this.stmt.clearGenres.run(w.id);
    }
    for (const [i, artistId] of artistIds.entries()) this.stmt.addArtist.run(w.id, artistId, 'artist', i);
    this.stmt.addArtist.run(w.id, albumArtistId, 'albumartist', 0);
    for (const g of t.genres) this.stmt.addGenre.run(w.id, this.genreId(g));
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

  /**
   * Recomputes album and artist aggregates and removes empty albums/artists/genres. Runs after any
   * change and after an interrupted scan (so a kill -9 never leaves stale counts for long).
   */
  async regroup(now: number, yieldNow: () => Promise<void>): Promise<void> {
    // One set-based statement per step (grouped aggregates, not per-row subqueries), each its own
    // transaction with a yield in between, so even a 50k-track library never holds the event loop
    // for the whole phase.
    this.foldFolderAlbums();
    await yieldNow();
    const va = this.variousArtistsId(now);
    const folderAlbum = `substr(albums.group_key, 1, 1) = char(${FOLDER_KEY.charCodeAt(0)})`;
    const steps = [
      'delete from albums where not exists (select 1 from tracks t where t.album_id = albums.id)',
      // Albums grouped by folder (no album artist tagged): "Various Artists" when their tracks'
      // artists differ, else their one artist; their tracks and album-artist links follow.
      ...(va
        ? [
            `update albums set album_artist = '${VARIOUS_ARTISTS}', artist_id = '${va}', updated_at = ${now}
             from (select album_id from tracks where album_id is not null group by album_id
                   having count(distinct coalesce(artist_id, '')) > 1) s
             where s.album_id = albums.id and ${folderAlbum} and albums.artist_id is not '${va}'`,
          ]
        : []),
      `update albums set album_artist = s.name, artist_id = s.aid, updated_at = ${now}
       from (select t.album_id, min(t.artist_id) aid, min(ar.name) name from tracks t join artists ar on ar.id = t.artist_id
             where t.album_id is not null group by t.album_id having count(distinct t.artist_id) = 1
               and count(*) = count(t.artist_id)) s
       where s.album_id = albums.id and ${folderAlbum} and albums.artist_id is not s.aid`,
      `update tracks set album_artist = albums.album_artist from albums
       where albums.id = tracks.album_id and ${folderAlbum} and tracks.album_artist is not albums.album_artist`,
      `delete from track_artists where role = 'albumartist' and exists (
         select 1 from tracks t join albums on albums.id = t.album_id
         where t.id = track_artists.track_id and ${folderAlbum} and albums.artist_id is not track_artists.artist_id)`,
      `insert or ignore into track_artists (track_id, artist_id, role, position)
       select t.id, albums.artist_id, 'albumartist', 0 from tracks t join albums on albums.id = t.album_id
       where ${folderAlbum} and albums.artist_id is not null and not exists (
         select 1 from track_artists ta where ta.track_id = t.id and ta.role = 'albumartist')`,
      `update albums set
         track_count = s.n, disc_count = max(1, s.discs), duration = s.dur, year = coalesce(s.yr, albums.year),
         compilation = s.comp, updated_at = ${now}
       from (select album_id, count(*) n, count(distinct coalesce(disc_number, 1)) discs, coalesce(sum(duration), 0) dur,
                    max(year) yr, max(compilation) comp
             from tracks where album_id is not null group by album_id) s
       where s.album_id = albums.id
         and (albums.track_count, albums.disc_count, albums.duration, albums.compilation) is not (s.n, max(1, s.discs), s.dur, s.comp)`,
      // Album artwork: the folder image first, else the first track's embedded picture.
      `update albums set artwork_id = s.aw
       from (select album_id, aw from (
               select t.album_id, t.artwork_id aw, row_number() over (
                 partition by t.album_id
                 order by case a.source when 'file' then 0 else 1 end, coalesce(t.disc_number, 1), coalesce(t.track_number, 0), t.local_path) rn
               from tracks t join artwork a on a.id = t.artwork_id where t.album_id is not null)
             where rn = 1) s
       where s.album_id = albums.id and albums.artwork_id is not s.aw`,
      `update albums set artwork_id = null where artwork_id is not null
         and not exists (select 1 from tracks t where t.album_id = albums.id and t.artwork_id is not null)`,
      `delete from artists where not exists (select 1 from track_artists ta where ta.artist_id = artists.id)
         and not exists (select 1 from albums al where al.artist_id = artists.id)
         and not exists (select 1 from tracks t where t.artist_id = artists.id)`,
      `update artists set track_count = s.tracks, album_count = s.albums, updated_at = ${now}
       from (select ta.artist_id id, count(distinct ta.track_id) tracks, count(distinct t.album_id) albums
             from track_artists ta join tracks t on t.id = ta.track_id group by ta.artist_id) s
       where s.id = artists.id and (artists.track_count, artists.album_count) is not (s.tracks, s.albums)`,
      `update artists set track_count = 0, album_count = 0, updated_at = ${now}
       where (track_count, album_count) is not (0, 0) and not exists (select 1 from track_artists ta where ta.artist_id = artists.id)`,
      'delete from genres where not exists (select 1 from track_genres tg where tg.genre_id = genres.id)',
      GENRE_COUNTS_SQL,
      // Keep the search index compact without a long blocking optimize.
      ...['tracks_fts', 'albums_fts', 'artists_fts', 'genres_fts'].map(
        (fts) => `insert into ${fts}(${fts}, rank) values ('merge', 200)`,
      ),
    ];
    for (const step of steps) {
      this.sqlite.prepare(step).run();
      await yieldNow();
    }
  }

  /**
   * One album per album: the tracks of an album grouped by folder (no album artist tagged) join
   * the album of the same name that tagged tracks in the same folder (or its disc folders) form,
   * e.g. the two untagged tracks of a 37-track album. Their album artist becomes that album's.
   */
  private foldFolderAlbums(): void {
    const albums = this.sqlite
      .prepare(`select id, group_key from albums where substr(group_key, 1, 1) = char(${FOLDER_KEY.charCodeAt(0)})`)
      .all() as { id: string; group_key: string }[];
    if (albums.length === 0) return;
    const tagged = this.sqlite.prepare(
      `select al.id, al.name, al.album_artist, al.artist_id, count(*) n from tracks t join albums al on al.id = t.album_id
       where t.source_type = 'local' and t.local_path >= ? and t.local_path < ?
         and substr(al.group_key, 1, 1) != char(${FOLDER_KEY.charCodeAt(0)})
       group by al.id order by n desc`,
    );
    const tracksOf = this.sqlite.prepare('select id from tracks where album_id = ?').pluck();
    const move = this.sqlite.prepare('update tracks set album_id = ?, album_artist = ? where id = ?');
    const dropLinks = this.sqlite.prepare("delete from track_artists where track_id = ? and role = 'albumartist'");
    this.sqlite.transaction(() => {
      for (const album of albums) {
        const [folder, name] = album.group_key.slice(1).split('\u001f');
        if (folder === '') continue; // loose files in the music folder's root: no album folder
        const candidates = tagged.all(`${folder}/`, `${folder}0`) as {
          id: string;
          name: string;
          album_artist: string | null;
          artist_id: string | null;
        }[];
        const target = candidates.find((c) => foldKey(c.name) === name);
        if (!target) continue;
        for (const trackId of tracksOf.all(album.id) as string[]) {
          move.run(target.id, target.album_artist, trackId);
          dropLinks.run(trackId);
          if (target.artist_id) this.stmt.addArtist.run(trackId, target.artist_id, 'albumartist', 0);
        }
      }
    })();
  }

  /** The "Various Artists" artist's id when an album grouped by folder needs it (created then). */
  private variousArtistsId(now: number): string | null {
    const needed = this.sqlite
      .prepare(
        `select 1 from tracks t join albums al on al.id = t.album_id
         where substr(al.group_key, 1, 1) = char(${FOLDER_KEY.charCodeAt(0)})
         group by t.album_id having count(distinct coalesce(t.artist_id, '')) > 1 limit 1`,
      )
      .get();
    if (!needed) return null;
    const key = foldKey(VARIOUS_ARTISTS);
    const row = this.sqlite.prepare('select id from artists where name_key = ?').get(key) as { id: string } | undefined;
    if (row) return row.id;
    const id = scanId();
    this.stmt.insertArtist.run(id, VARIOUS_ARTISTS, key, null, now, now);
    this.artistIds.set(key, id);
    return id;
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
    if (paths.length > 0) this.artworkIds.clear();
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

  /** Drops the grouping caches between scans (the next scan's diff reloads them): idle memory. */
  clearCaches(): void {
    this.folded.clear();
    this.artistIds.clear();
    this.genreIds.clear();
    this.albumIds.clear();
    this.artworkIds.clear();
  }
}
