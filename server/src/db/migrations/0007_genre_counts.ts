/**
 * 0007 — genres keep their track and album counts (as artists and albums do), recomputed by the
 * scanner's regroup phase. Reading them was a join over every track of the genre (~5 ms for a
 * genre of 4,000 tracks, more on a cold cache) on each genre listing and each search answer that
 * named a genre.
 */
import { type Kysely, sql } from 'kysely';
import { type Engine, engineOf, inTransaction } from '../engine.js';

/** Every genre's counts, from track_genres (also run by the scanner after each scan). */
export const GENRE_COUNTS_SQL = `update genres set track_count = s.tracks, album_count = s.albums
   from (select tg.genre_id id, count(*) tracks, count(distinct t.album_id) albums
         from track_genres tg join tracks t on t.id = tg.track_id group by tg.genre_id) s
   where s.id = genres.id and (genres.track_count, genres.album_count) is not (s.tracks, s.albums)`;

/** GENRE_COUNTS_SQL in the engine's spelling (PostgreSQL compares rows with `is distinct from`). */
export function genreCountsSql(engine: Engine): string {
  return engine === 'postgres' ? GENRE_COUNTS_SQL.replace(' is not (', ' is distinct from (') : GENRE_COUNTS_SQL;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await inTransaction(db, async (trx) => {
    await sql`alter table genres add column track_count integer not null default 0`.execute(trx);
    await sql`alter table genres add column album_count integer not null default 0`.execute(trx);
    await sql.raw(genreCountsSql(engineOf(db))).execute(trx);
  });
}
