/**
 * 0007 — genres keep their track and album counts (as artists and albums do), recomputed by the
 * scanner's regroup phase. Reading them was a join over every track of the genre (~5 ms for a
 * genre of 4,000 tracks, more on a cold cache) on each genre listing and each search answer that
 * named a genre.
 */
import { type Kysely, sql } from 'kysely';

/** Every genre's counts, from track_genres (also run by the scanner after each scan). */
export const GENRE_COUNTS_SQL = `update genres set track_count = s.tracks, album_count = s.albums
   from (select tg.genre_id id, count(*) tracks, count(distinct t.album_id) albums
         from track_genres tg join tracks t on t.id = tg.track_id group by tg.genre_id) s
   where s.id = genres.id and (genres.track_count, genres.album_count) is not (s.tracks, s.albums)`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`alter table genres add column track_count integer not null default 0`.execute(trx);
    await sql`alter table genres add column album_count integer not null default 0`.execute(trx);
    await sql.raw(GENRE_COUNTS_SQL).execute(trx);
  });
}
