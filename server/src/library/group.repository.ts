/**
 * SQL of the scan's group phase: albums grouped by folder folded into their folder's tagged album
 * and given their album artist (README.md, "One album per album"), then album, artist and genre
 * aggregates recomputed set-based, empty ones deleted, the search index merged.
 */
import type SQLite from 'better-sqlite3';
import { GENRE_COUNTS_SQL } from '../db/migrations/0007_genre_counts.js';
import { scanId } from './library.repository.js';
import { FOLDER_KEY, foldKey, VARIOUS_ARTISTS } from './tags.js';

export class GroupRepository {
  constructor(private readonly sqlite: SQLite.Database) {}

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
       from (select album_id, count(*) n, count(distinct coalesce(disc_number, 1)) discs, round(coalesce(sum(duration), 0), 3) dur,
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
    const addLink = this.sqlite.prepare(
      'insert or ignore into track_artists (track_id, artist_id, role, position) values (?, ?, ?, ?)',
    );
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
          if (target.artist_id) addLink.run(trackId, target.artist_id, 'albumartist', 0);
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
    this.sqlite
      .prepare(
        'insert into artists (id, name, name_key, mbz_artist_id, added_at, updated_at) values (?, ?, ?, null, ?, ?)',
      )
      .run(id, VARIOUS_ARTISTS, key, now, now);
    return id;
  }
}
