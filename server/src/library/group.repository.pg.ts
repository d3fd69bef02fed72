/**
 * The group phase on PostgreSQL (group.repository.ts is the SQLite twin and explains each step):
 * the same set-based statements in PostgreSQL's spelling (`is distinct from` for SQLite's `is not`,
 * `greatest`, `on conflict do nothing`, byte-order path ranges). There is no FTS5 index to merge:
 * search on PostgreSQL is kept by the catalog area's own triggers or columns.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { genreCountsSql } from '../db/migrations/0007_genre_counts.js';
import { scanId } from './library.repository.js';
import type { GroupStore } from './scan-store.js';
import { FOLDER_KEY, foldKey, VARIOUS_ARTISTS } from './tags.js';

const CATALOG_TABLES = ['tracks', 'albums', 'artists', 'track_artists', 'track_genres', 'genres', 'artwork'];

const FOLDER_ALBUM = `substr(albums.group_key, 1, 1) = chr(${FOLDER_KEY.charCodeAt(0)})`;

export class PgGroupRepository implements GroupStore {
  constructor(private readonly db: Db) {}

  async regroup(now: number, yieldNow: () => Promise<void>): Promise<void> {
    await this.analyzeAfterBulkChanges();
    await this.foldFolderAlbums();
    const va = await this.variousArtistsId(now);
    const steps = [
      'delete from albums where not exists (select 1 from tracks t where t.album_id = albums.id)',
      ...(va
        ? [
            `update albums set album_artist = '${VARIOUS_ARTISTS}', artist_id = '${va}', updated_at = ${now}
             from (select album_id from tracks where album_id is not null group by album_id
                   having count(distinct coalesce(artist_id, '')) > 1) s
             where s.album_id = albums.id and ${FOLDER_ALBUM} and albums.artist_id is distinct from '${va}'`,
          ]
        : []),
      `update albums set album_artist = s.name, artist_id = s.aid, updated_at = ${now}
       from (select t.album_id, min(t.artist_id) aid, min(ar.name) "name" from tracks t join artists ar on ar.id = t.artist_id
             where t.album_id is not null group by t.album_id having count(distinct t.artist_id) = 1
               and count(*) = count(t.artist_id)) s
       where s.album_id = albums.id and ${FOLDER_ALBUM} and albums.artist_id is distinct from s.aid`,
      `update tracks set album_artist = albums.album_artist from albums
       where albums.id = tracks.album_id and ${FOLDER_ALBUM} and tracks.album_artist is distinct from albums.album_artist`,
      `delete from track_artists where role = 'albumartist' and exists (
         select 1 from tracks t join albums on albums.id = t.album_id
         where t.id = track_artists.track_id and ${FOLDER_ALBUM} and albums.artist_id is distinct from track_artists.artist_id)`,
      `insert into track_artists (track_id, artist_id, role, position)
       select t.id, albums.artist_id, 'albumartist', 0 from tracks t join albums on albums.id = t.album_id
       where ${FOLDER_ALBUM} and albums.artist_id is not null and not exists (
         select 1 from track_artists ta where ta.track_id = t.id and ta.role = 'albumartist')
       on conflict do nothing`,
      `update albums set
         track_count = s.n, disc_count = greatest(1, s.discs), duration = s.dur, year = coalesce(s.yr, albums.year),
         compilation = s.comp, updated_at = ${now}
       from (select album_id, count(*) n, count(distinct coalesce(disc_number, 1)) discs, round(coalesce(sum(duration), 0)::numeric, 3)::double precision dur,
                    max(year) yr, max(compilation) comp
             from tracks where album_id is not null group by album_id) s
       where s.album_id = albums.id
         and (albums.track_count, albums.disc_count, albums.duration, albums.compilation)
           is distinct from (s.n, greatest(1, s.discs), s.dur, s.comp)`,
      // Paths in byte order, as SQLite sorts them, whatever the database's collation.
      `update albums set artwork_id = s.aw
       from (select album_id, aw from (
               select t.album_id, t.artwork_id aw, row_number() over (
                 partition by t.album_id
                 order by case a.source when 'file' then 0 else 1 end, coalesce(t.disc_number, 1),
                          coalesce(t.track_number, 0), t.local_path collate "C") rn
               from tracks t join artwork a on a.id = t.artwork_id where t.album_id is not null) ranked
             where rn = 1) s
       where s.album_id = albums.id and albums.artwork_id is distinct from s.aw`,
      `update albums set artwork_id = null where artwork_id is not null
         and not exists (select 1 from tracks t where t.album_id = albums.id and t.artwork_id is not null)`,
      `delete from artists where not exists (select 1 from track_artists ta where ta.artist_id = artists.id)
         and not exists (select 1 from albums al where al.artist_id = artists.id)
         and not exists (select 1 from tracks t where t.artist_id = artists.id)`,
      `update artists set track_count = s.tracks, album_count = s.albums, updated_at = ${now}
       from (select ta.artist_id id, count(distinct ta.track_id) tracks, count(distinct t.album_id) albums
             from track_artists ta join tracks t on t.id = ta.track_id group by ta.artist_id) s
       where s.id = artists.id and (artists.track_count, artists.album_count) is distinct from (s.tracks, s.albums)`,
      `update artists set track_count = 0, album_count = 0, updated_at = ${now}
       where (track_count, album_count) is distinct from (0, 0)
         and not exists (select 1 from track_artists ta where ta.artist_id = artists.id)`,
      'delete from genres where not exists (select 1 from track_genres tg where tg.genre_id = genres.id)',
      genreCountsSql('postgres'),
    ];
    for (const step of steps) {
      await sql.raw(step).execute(this.db);
      await yieldNow();
    }
  }

  /**
   * Fresh planner statistics when a scan changed much of the catalog (a first scan, a big import):
   * autovacuum analyzes on its own schedule, and the set-based steps below are planned from the
   * row counts. Skipped for the watcher's small scans (an analyze is ~1 s at 20,000 tracks).
   */
  private async analyzeAfterBulkChanges(): Promise<void> {
    const { rows } = await sql<{ changed: number; live: number }>`select
        coalesce(sum(n_mod_since_analyze), 0) changed, coalesce(sum(n_live_tup), 0) live
      from pg_stat_user_tables where relname in ${sql.raw(`(${CATALOG_TABLES.map((t) => `'${t}'`).join(', ')})`)}`.execute(
      this.db,
    );
    const { changed, live } = rows[0] ?? { changed: 0, live: 0 };
    if (Number(changed) >= 1000 && Number(changed) * 10 >= Number(live))
      await sql.raw(`analyze ${CATALOG_TABLES.join(', ')}`).execute(this.db);
  }

  /**
   * GroupRepository.foldFolderAlbums's rule in a handful of round trips instead of a few per
   * album (12 s → well under 1 s for 20,000 tracks): the tagged albums' local tracks are read
   * once and counted per folder in memory (SQLite's range 'dir/' ≤ path < 'dir0' is exactly
   * "starts with dir/"), then every move is one statement.
   */
  private async foldFolderAlbums(): Promise<void> {
    const folderChar = sql.lit(FOLDER_KEY.charCodeAt(0));
    const { rows: albums } = await sql<{ id: string; group_key: string }>`select id, group_key from albums
      where substr(group_key, 1, 1) = chr(${folderChar})`.execute(this.db);
    const wanted = new Map<string, { id: string; name: string }[]>();
    for (const album of albums) {
      const [folder, name] = album.group_key.slice(1).split('\u001f');
      if (folder === '') continue; // loose files in the music folder's root: no album folder
      const list = wanted.get(folder) ?? [];
      list.push({ id: album.id, name });
      wanted.set(folder, list);
    }
    if (wanted.size === 0) return;
    const { rows: tagged } = await sql<Tagged & { local_path: string }>`select t.local_path, al.id, al.name,
        al.album_artist, al.artist_id from tracks t join albums al on al.id = t.album_id
      where t.source_type = 'local' and t.local_path is not null
        and substr(al.group_key, 1, 1) != chr(${folderChar})`.execute(this.db);
    // folder → tagged album id → its tracks under that folder (and the first path, for ties)
    const counts = new Map<string, Map<string, { album: Tagged; n: number; first: string }>>();
    for (const row of tagged) {
      const path = row.local_path;
      for (let at = path.indexOf('/'); at > 0; at = path.indexOf('/', at + 1)) {
        const folder = path.slice(0, at);
        if (!wanted.has(folder)) continue;
        let perAlbum = counts.get(folder);
        if (!perAlbum) {
          perAlbum = new Map();
          counts.set(folder, perAlbum);
        }
        const c = perAlbum.get(row.id);
        if (!c) perAlbum.set(row.id, { album: row, n: 1, first: path });
        else {
          c.n += 1;
          if (path < c.first) c.first = path;
        }
      }
    }
    const from: string[] = [];
    const to: string[] = [];
    const albumArtists: (string | null)[] = [];
    const artistIds: (string | null)[] = [];
    for (const [folder, list] of wanted) {
      const perAlbum = counts.get(folder);
      if (!perAlbum) continue;
      const candidates = [...perAlbum.values()].sort((a, b) => b.n - a.n || (a.first < b.first ? -1 : 1));
      for (const album of list) {
        const target = candidates.find((c) => foldKey(c.album.name) === album.name)?.album;
        if (!target) continue;
        from.push(album.id);
        to.push(target.id);
        albumArtists.push(target.album_artist);
        artistIds.push(target.artist_id);
      }
    }
    if (from.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      const { rows: moved } = await sql<{ id: string; artist_id: string | null }>`update tracks
          set album_id = m.to_id, album_artist = m.album_artist
        from unnest(${from}::text[], ${to}::text[], ${albumArtists}::text[], ${artistIds}::text[])
          as m(from_id, to_id, album_artist, artist_id)
        where tracks.album_id = m.from_id
        returning tracks.id, m.artist_id`.execute(trx);
      if (moved.length === 0) return;
      const ids = moved.map((m) => m.id);
      await sql`delete from track_artists where track_id = any(${ids}::text[]) and role = 'albumartist'`.execute(trx);
      const linked = moved.filter((m) => m.artist_id !== null);
      if (linked.length > 0)
        await sql`insert into track_artists (track_id, artist_id, role, position)
          select track_id, artist_id, 'albumartist', 0
          from unnest(${linked.map((m) => m.id)}::text[], ${linked.map((m) => m.artist_id)}::text[]) as l(track_id, artist_id)
          on conflict do nothing`.execute(trx);
    });
  }

  private async variousArtistsId(now: number): Promise<string | null> {
    const { rows: needed } = await sql`select 1 from tracks t join albums al on al.id = t.album_id
      where substr(al.group_key, 1, 1) = chr(${sql.lit(FOLDER_KEY.charCodeAt(0))})
      group by t.album_id having count(distinct coalesce(t.artist_id, '')) > 1 limit 1`.execute(this.db);
    if (needed.length === 0) return null;
    const key = foldKey(VARIOUS_ARTISTS);
    const row = await this.db.selectFrom('artists').select('id').where('name_key', '=', key).executeTakeFirst();
    if (row) return row.id;
    const id = scanId();
    await this.db
      .insertInto('artists')
      .values({ id, name: VARIOUS_ARTISTS, name_key: key, mbz_artist_id: null, added_at: now, updated_at: now })
      .execute();
    return id;
  }
}

interface Tagged {
  id: string;
  name: string;
  album_artist: string | null;
  artist_id: string | null;
}
