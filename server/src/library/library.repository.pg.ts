/**
 * The scanner's SQL on PostgreSQL (library.repository.ts is the SQLite twin, with the same
 * grouping caches and the same rows). Each batch is one transaction of a few set-based statements:
 * the batch's rows go over as one JSON parameter per table and `json_populate_recordset` turns
 * them into typed rows of that table (no per-row round trip, no 65,535-parameter limit, the
 * column types come from the table itself).
 */
import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/database.js';
import { type FileStamp, type KnownTrack, TRACK_COLUMNS, type TrackWrite, trackValues } from './library.repository.js';
import type { ArtworkRow, LibraryStore, ScanError } from './scan-store.js';
import { type AlbumRow, type ArtistRow, type GenreRow, GroupingCache, type NewGroupRows } from './grouping-cache.js';

type Row = Record<string, unknown>;

/** `\u0000` escapes in JSON text (not an escaped backslash followed by "u0000"). */
const JSON_NUL = /(?<!\\)((?:\\\\)*)\\u0000/g;

/**
 * The rows as one JSON parameter. PostgreSQL text cannot hold NUL characters (SQLite can): a tag
 * with one (broken taggers write them) loses them here instead of failing the whole batch.
 */
function rowsJson(rows: readonly object[]): string {
  const text = JSON.stringify(rows);
  return text.includes('\\u0000') ? text.replace(JSON_NUL, '$1') : text;
}

/** `insert into <table> (<columns>) select <columns> from json_populate_recordset(…) <tail>`. */
function insertRows(
  table: string,
  columns: readonly string[],
  rows: readonly object[],
  tail = '',
): RawBuilder<unknown> {
  const cols = sql.join(columns.map((c) => sql.ref(c)));
  return sql`insert into ${sql.table(table)} (${cols}) select ${cols} from json_populate_recordset(null::${sql.table(table)}, ${rowsJson(rows)}::json) ${sql.raw(tail)}`;
}

const TRACK_ROW_COLUMNS = [...TRACK_COLUMNS, 'added_at', 'id'] as const;

function trackRow(w: TrackWrite, albumId: string, artistId: string | null, now: number, insert: boolean): Row {
  const values = trackValues(w, albumId, artistId, now, insert);
  const row: Row = {};
  for (let i = 0; i < TRACK_ROW_COLUMNS.length; i++) row[TRACK_ROW_COLUMNS[i]] = values[i];
  return row;
}

export class PgLibraryRepository implements LibraryStore {
  private readonly cache = new GroupingCache();

  constructor(private readonly db: Db) {}

  async loadCaches(): Promise<void> {
    const [artists, genres, albums, artwork] = await Promise.all([
      this.db.selectFrom('artists').select(['id', 'name_key']).execute(),
      this.db.selectFrom('genres').select(['id', 'name_key']).execute(),
      this.db.selectFrom('albums').select(['id', 'group_key']).execute(),
      this.db.selectFrom('artwork').select('id').execute(),
    ]);
    this.cache.load(artists, genres, albums, artwork);
  }

  hasArtwork(id: string): boolean {
    return this.cache.hasArtwork(id);
  }

  async localTracks(): Promise<KnownTrack[]> {
    const rows = await this.db
      .selectFrom('tracks')
      .select(['id', 'local_path', 'size', 'mtime', 'content_hash', 'duration', 'title', 'artist', 'album'])
      .where('source_type', '=', 'local')
      .where('local_path', 'is not', null)
      .execute();
    return rows as KnownTrack[];
  }

  async localTrackStamps(): Promise<Map<string, FileStamp>> {
    const rows = await this.db
      .selectFrom('tracks')
      .select(['local_path', 'size', 'mtime'])
      .where('source_type', '=', 'local')
      .where('local_path', 'is not', null)
      .execute();
    const stamps = new Map<string, FileStamp>();
    for (const r of rows) if (r.local_path) stamps.set(r.local_path, { size: r.size, mtime: r.mtime });
    return stamps;
  }

  async localTrackIds(paths: string[] | null): Promise<Map<string, string>> {
    let query = this.db
      .selectFrom('tracks')
      .select(['local_path', 'id'])
      .where('source_type', '=', 'local')
      .where('local_path', 'is not', null);
    if (paths !== null) {
      if (paths.length === 0) return new Map();
      query = query.where(sql<boolean>`local_path = any(${paths})`);
    }
    const ids = new Map<string, string>();
    for (const r of await query.execute()) if (r.local_path) ids.set(r.local_path, r.id);
    return ids;
  }

  async knownTracks(ids: string[]): Promise<KnownTrack[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('tracks')
      .select(['id', 'local_path', 'size', 'mtime', 'content_hash', 'duration', 'title', 'artist', 'album'])
      .where('source_type', '=', 'local')
      .where(sql<boolean>`id = any(${ids})`)
      .execute();
    return rows as KnownTrack[];
  }

  /** PostgreSQL sizes its own shared buffers: nothing to cap per connection. */
  limitPageCache(_kib: number): () => void {
    return () => {};
  }

  /** PostgreSQL checkpoints on its own schedule. */
  spaceCheckpoints(_pages: number): () => void {
    return () => {};
  }

  /**
   * The SQLite side drops its covering stamp index during a large write; PostgreSQL's index
   * maintenance is set-based per batch (one statement per table) and is left as it is.
   */
  suspendStampIndex(): void {}

  restoreStampIndex(): void {}

  async scanErrors(): Promise<Map<string, { size: number; mtime: number }>> {
    const rows = await this.db.selectFrom('scan_errors').select(['local_path', 'size', 'mtime']).execute();
    return new Map(rows.map((r) => [r.local_path, { size: r.size, mtime: r.mtime }]));
  }

  async unreadableCount(): Promise<number> {
    const row = await this.db
      .selectFrom('scan_errors')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async writeBatch(
    batch: { insert: TrackWrite[]; update: TrackWrite[]; errors: ScanError[] },
    artwork: ArtworkRow[],
    readOk: string[],
    now: number,
  ): Promise<void> {
    const rows = new BatchRows(now);
    for (const a of artwork) this.cache.addArtwork(a.id);
    for (const w of batch.insert) rows.inserts.push(this.trackRow(w, true, rows));
    for (const w of batch.update) rows.updates.push(this.trackRow(w, false, rows));
    await this.db.transaction().execute(async (trx) => {
      if (artwork.length > 0)
        await insertRows(
          'artwork',
          ['id', 'path', 'mime', 'size', 'source', 'created_at'],
          artwork.map((a) => ({ ...a, created_at: now })),
          'on conflict do nothing',
        ).execute(trx);
      if (rows.artists.length > 0)
        await insertRows(
          'artists',
          ['id', 'name', 'name_key', 'mbz_artist_id', 'added_at', 'updated_at'],
          rows.artists,
        ).execute(trx);
      if (rows.genres.length > 0) await insertRows('genres', ['id', 'name', 'name_key'], rows.genres).execute(trx);
      if (rows.albums.length > 0) await insertRows('albums', ALBUM_COLUMNS, rows.albums).execute(trx);
      if (rows.inserts.length > 0)
        await sql`insert into tracks (${sql.join([...TRACK_ROW_COLUMNS, 'source_type'].map((c) => sql.ref(c)))})
          select ${sql.join(TRACK_ROW_COLUMNS.map((c) => sql.ref(c)))}, 'local'
          from json_populate_recordset(null::tracks, ${rowsJson(rows.inserts)}::json)`.execute(trx);
      if (rows.updates.length > 0) {
        await sql`update tracks set ${sql.join(TRACK_COLUMNS.map((c) => sql`${sql.ref(c)} = r.${sql.ref(c)}`))},
            added_at = coalesce(r.added_at, tracks.added_at)
          from json_populate_recordset(null::tracks, ${rowsJson(rows.updates)}::json) r
          where tracks.id = r.id`.execute(trx);
        const ids = rows.updates.map((r) => r.id as string);
        await sql`delete from track_artists where track_id = any(${ids}::text[])`.execute(trx);
        await sql`delete from track_genres where track_id = any(${ids}::text[])`.execute(trx);
      }
      if (rows.artistLinks.length > 0)
        await insertRows(
          'track_artists',
          ['track_id', 'artist_id', 'role', 'position'],
          rows.artistLinks,
          'on conflict do nothing',
        ).execute(trx);
      if (rows.genreLinks.length > 0)
        await insertRows('track_genres', ['track_id', 'genre_id'], rows.genreLinks, 'on conflict do nothing').execute(
          trx,
        );
      if (batch.errors.length > 0)
        await insertRows(
          'scan_errors',
          ['local_path', 'reason', 'size', 'mtime', 'seen_at'],
          batch.errors.map((e) => ({
            local_path: e.rel,
            reason: e.reason,
            size: e.size,
            mtime: e.mtime,
            seen_at: now,
          })),
          `on conflict (local_path) do update set reason = excluded.reason, size = excluded.size,
             mtime = excluded.mtime, seen_at = excluded.seen_at`,
        ).execute(trx);
      if (readOk.length > 0) await sql`delete from scan_errors where local_path = any(${readOk}::text[])`.execute(trx);
    });
  }

  /** The track's row; new artists, genres and albums it names join `rows` (and the caches). */
  private trackRow(w: TrackWrite, insert: boolean, rows: BatchRows): Row {
    const { artistIds, albumArtistId, albumId, genreIds } = this.cache.track(w.tags, w.rel, rows.now, rows);
    for (const [i, artistId] of artistIds.entries())
      rows.artistLinks.push({ track_id: w.id, artist_id: artistId, role: 'artist', position: i });
    rows.artistLinks.push({ track_id: w.id, artist_id: albumArtistId, role: 'albumartist', position: 0 });
    for (const genreId of genreIds) rows.genreLinks.push({ track_id: w.id, genre_id: genreId });
    return trackRow(w, albumId, artistIds[0] ?? null, rows.now, insert);
  }

  async deleteTracks(ids: string[]): Promise<void> {
    await sql`delete from tracks where id = any(${ids}::text[]) and source_type = 'local'`.execute(this.db);
  }

  async deleteErrorsNotIn(keep: (rel: string) => boolean): Promise<void> {
    const stale = [...(await this.scanErrors()).keys()].filter((p) => !keep(p));
    if (stale.length > 0) await sql`delete from scan_errors where local_path = any(${stale}::text[])`.execute(this.db);
  }

  async dirsShowingFolderArt(): Promise<Set<string>> {
    const { rows } = await sql<{ p: string }>`select t.local_path p from tracks t join artwork a on a.id = t.artwork_id
      where t.source_type = 'local' and a.source = 'file'`.execute(this.db);
    const dirs = new Set<string>();
    for (const { p } of rows) {
      const i = p.lastIndexOf('/');
      dirs.add(i < 0 ? '' : p.slice(0, i));
    }
    return dirs;
  }

  async dirShowsArtwork(dir: string, id: string): Promise<boolean> {
    // Byte order ("C" collation), as SQLite compares: 'dir/' ≤ path < 'dir0' ('0' follows '/').
    // The database's own collation may ignore punctuation.
    const { rows } = await sql<{ local_path: string }>`select local_path from tracks
      where source_type = 'local' and local_path collate "C" >= ${dir === '' ? '' : `${dir}/`}
        and local_path collate "C" < ${dir === '' ? '\u{10ffff}' : `${dir}0`} and artwork_id = ${id}`.execute(this.db);
    const from = dir === '' ? 0 : dir.length + 1;
    return rows.some((r) => !r.local_path.includes('/', from));
  }

  async deleteUnusedArtwork(): Promise<string[]> {
    const { rows } = await sql<{
      path: string;
    }>`delete from artwork where source in ('embedded', 'file') and id not in (
        select artwork_id from tracks where artwork_id is not null
        union select artwork_id from albums where artwork_id is not null
        union select artwork_id from artists where artwork_id is not null)
      returning path`.execute(this.db);
    if (rows.length > 0) this.cache.forgetArtwork();
    return rows.map((r) => r.path);
  }

  async scannerArtwork(): Promise<{ id: string; path: string; size: number }[]> {
    return this.db
      .selectFrom('artwork')
      .select(['id', 'path', 'size'])
      .where('source', 'in', ['embedded', 'file'])
      .execute() as Promise<{ id: string; path: string; size: number }[]>;
  }

  async deleteArtwork(ids: string[]): Promise<void> {
    if (ids.length > 0) await sql`delete from artwork where id = any(${ids}::text[])`.execute(this.db);
  }

  async artworkPaths(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('artwork').select('path').execute();
    return new Set(rows.map((r) => r.path));
  }

  clearCaches(): void {
    this.cache.clear();
  }
}

const ALBUM_COLUMNS = [
  'id',
  'name',
  'group_key',
  'album_artist',
  'artist_id',
  'year',
  'genre',
  'compilation',
  'mbz_album_id',
  'added_at',
  'updated_at',
];

/** The rows one batch writes, collected before its transaction. */
/** A batch's rows per table; the grouping cache adds the artists, genres and albums it creates. */
class BatchRows implements NewGroupRows {
  readonly artists: ArtistRow[] = [];
  readonly genres: GenreRow[] = [];
  readonly albums: AlbumRow[] = [];
  readonly inserts: Row[] = [];
  readonly updates: Row[] = [];
  readonly artistLinks: Row[] = [];
  readonly genreLinks: Row[] = [];
  constructor(readonly now: number) {}

  artist(row: ArtistRow): void {
    this.artists.push(row);
  }

  genre(row: GenreRow): void {
    this.genres.push(row);
  }

  album(row: AlbumRow): void {
    this.albums.push(row);
  }
}
