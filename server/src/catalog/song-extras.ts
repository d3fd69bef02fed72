/**
 * What a Subsonic song node needs besides its row: the credited artists (role `artist` /
 * `albumartist`, in tag order) and the genre names — on their own for rows a caller already has,
 * or read with the rows in one statement (a song list nobody asked for yet: search3 after a new
 * query reads its twenty songs once instead of three times, subsonic/catalog-cache.ts).
 *
 * Both orders are total (position, then artist id and role; genre id), so the two ways give the
 * same lists on either engine (`song-extras.test.ts`).
 */
import { PostgresAdapter, sql } from 'kysely';
import type { Db } from '../db/database.js';
import { SONG_COLUMNS, type SongRow } from './browse.repository.js';

export interface Credit {
  id: string;
  name: string;
  role: string;
}

/** A song row with its credits and genres (`undefined` when it has none). */
export interface SongWithExtras {
  row: SongRow;
  credits: Credit[];
  genres: string[] | undefined;
}

const CHUNK = 500;

function chunks<T>(list: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += CHUNK) out.push(list.slice(i, i + CHUNK));
  return out;
}

/** Track → its credited artists. */
export async function creditsOf(db: Db, trackIds: string[]): Promise<Map<string, Credit[]>> {
  const out = new Map<string, Credit[]>();
  for (const part of chunks([...new Set(trackIds)])) {
    const rows = await db
      .selectFrom('track_artists as ta')
      .innerJoin('artists as a', 'a.id', 'ta.artist_id')
      .select(['ta.track_id', 'a.id', 'a.name', 'ta.role'])
      .where('ta.track_id', 'in', part)
      .orderBy('ta.track_id')
      .orderBy('ta.position')
      .orderBy('ta.artist_id')
      .orderBy('ta.role')
      .execute();
    for (const r of rows) {
      const list = out.get(r.track_id) ?? [];
      list.push({ id: r.id, name: r.name, role: r.role });
      out.set(r.track_id, list);
    }
  }
  return out;
}

/** Track → its genre names. */
export async function genresOf(db: Db, trackIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const part of chunks([...new Set(trackIds)])) {
    const rows = await db
      .selectFrom('track_genres as tg')
      .innerJoin('genres as g', 'g.id', 'tg.genre_id')
      .select(['tg.track_id', 'g.name'])
      .where('tg.track_id', 'in', part)
      .orderBy('tg.track_id')
      .orderBy('tg.genre_id')
      .execute();
    for (const r of rows) {
      const list = out.get(r.track_id);
      if (list) list.push(r.name);
      else out.set(r.track_id, [r.name]);
    }
  }
  return out;
}

/** A JSON array as the engine hands it back: text on SQLite, parsed on PostgreSQL, null when empty there. */
function listOf<T>(value: unknown): T[] {
  if (value === null || value === undefined) return [];
  return (typeof value === 'string' ? JSON.parse(value) : value) as T[];
}

/**
 * Songs by id with credits and genres, in one statement (aggregated per song by correlated
 * subqueries, ordered inside the aggregate — SQLite ≥ 3.44 and PostgreSQL both take that), in
 * no particular order; unknown ids are skipped.
 */
export async function songsWithExtras(db: Db, ids: string[]): Promise<SongWithExtras[]> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const agg = sql.raw(pg ? 'json_agg' : 'json_group_array');
  const tuple = sql.raw(pg ? 'json_build_array' : 'json_array');
  const out: SongWithExtras[] = [];
  for (const part of chunks([...new Set(ids)])) {
    const rows = await db
      .selectFrom('tracks')
      .select(SONG_COLUMNS)
      .select([
        sql<unknown>`(select ${agg}(${tuple}(a.id, a.name, ta.role) order by ta.position, ta.artist_id, ta.role)
          from track_artists ta join artists a on a.id = ta.artist_id where ta.track_id = tracks.id)`.as('x_credits'),
        sql<unknown>`(select ${agg}(g.name order by tg.genre_id)
          from track_genres tg join genres g on g.id = tg.genre_id where tg.track_id = tracks.id)`.as('x_genres'),
      ])
      .where('id', 'in', part)
      .execute();
    for (const { x_credits, x_genres, ...row } of rows) {
      const genres = listOf<string>(x_genres);
      out.push({
        row,
        credits: listOf<[string, string, string]>(x_credits).map(([id, name, role]) => ({ id, name, role })),
        genres: genres.length ? genres : undefined,
      });
    }
  }
  return out;
}
