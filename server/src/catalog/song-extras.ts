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

/** SQLite's BINARY order of two strings (UTF-8 bytes, i.e. code points), without encoding them. */
function binaryOrder(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (code points above U+FFFF) come after every other UTF-16 unit in UTF-8 order.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

type CreditTuple = [id: string, name: string, role: string, position: number];

/** `order by ta.position, ta.artist_id, ta.role` as SQLite orders them. */
const creditOrder = (a: CreditTuple, b: CreditTuple) =>
  a[3] - b[3] || binaryOrder(a[0], b[0]) || binaryOrder(a[2], b[2]);

/**
 * Songs by id with credits and genres, in one statement (aggregated per song by correlated
 * subqueries), in no particular order; unknown ids are skipped. PostgreSQL orders inside the
 * aggregate (its collation decides, as in `creditsOf`/`genresOf`); on SQLite an ordered aggregate
 * builds a temporary B-tree per song and list (40 for 20 songs: ~0.5 ms of a cold search3's ~1.8 ms
 * read, on the event loop), so the lists come unordered with their sort keys and are sorted here
 * in SQLite's BINARY order — the same lists (`song-extras.test.ts`).
 */
export async function songsWithExtras(db: Db, ids: string[]): Promise<SongWithExtras[]> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const agg = sql.raw(pg ? 'json_agg' : 'json_group_array');
  const tuple = sql.raw(pg ? 'json_build_array' : 'json_array');
  const creditsBy = sql.raw(pg ? ' order by ta.position, ta.artist_id, ta.role' : '');
  const genresBy = sql.raw(pg ? ' order by tg.genre_id' : '');
  const out: SongWithExtras[] = [];
  for (const part of chunks([...new Set(ids)])) {
    const rows = await db
      .selectFrom('tracks')
      .select(SONG_COLUMNS)
      .select([
        sql<unknown>`(select ${agg}(${tuple}(a.id, a.name, ta.role, ta.position)${creditsBy})
          from track_artists ta join artists a on a.id = ta.artist_id where ta.track_id = tracks.id)`.as('x_credits'),
        sql<unknown>`(select ${agg}(${tuple}(g.name, tg.genre_id)${genresBy})
          from track_genres tg join genres g on g.id = tg.genre_id where tg.track_id = tracks.id)`.as('x_genres'),
      ])
      .where('id', 'in', part)
      .execute();
    for (const { x_credits, x_genres, ...row } of rows) {
      const credits = listOf<CreditTuple>(x_credits);
      const genres = listOf<[name: string, id: string]>(x_genres);
      if (!pg) {
        if (credits.length > 1) credits.sort(creditOrder);
        if (genres.length > 1) genres.sort((a, b) => binaryOrder(a[1], b[1]));
      }
      out.push({
        row,
        credits: credits.map(([id, name, role]) => ({ id, name, role })),
        genres: genres.length ? genres.map(([name]) => name) : undefined,
      });
    }
  }
  return out;
}
