/**
 * getLyrics' lookup by artist and title (Subsonic clients send the tags as they show them): kept
 * apart from browse.repository.ts, which reads whole-library lists.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { foldKey } from '../shared/fold-key.js';

/**
 * A track with lyrics whose title (and artist, when given) match, ignoring case. With an artist,
 * the artist is found by the key the scanner merged artists by and the title compared folded
 * ({@link foldKey}: case and accents ignored), the same on both engines; `collate nocase` folds
 * ASCII only on SQLite and keeps accents on PostgreSQL. An artist string that names no artist
 * (a display string such as "A feat. B" split into two) is still compared as before.
 */
export async function lyricsByTags(db: Db, artist: string | undefined, title: string) {
  const columns = ['id', 'artist', 'title', 'lyrics'] as const;
  if (artist) {
    const key = foldKey(artist);
    const wanted = foldKey(title);
    const ofArtist = await db
      .selectFrom('tracks')
      .select(['id', 'title'])
      .where('lyrics', 'is not', null)
      .where((eb) =>
        eb.or([
          eb('artist_id', 'in', eb.selectFrom('artists').select('id').where('name_key', '=', key)),
          eb(
            'id',
            'in',
            eb
              .selectFrom('track_artists as ta')
              .innerJoin('artists as a', 'a.id', 'ta.artist_id')
              .select('ta.track_id')
              .where('a.name_key', '=', key),
          ),
        ]),
      )
      .orderBy('id')
      .execute();
    const match = ofArtist.find((r) => foldKey(r.title) === wanted);
    if (match) return db.selectFrom('tracks').select(columns).where('id', '=', match.id).executeTakeFirst();
  }
  let q = db
    .selectFrom('tracks')
    .select(columns)
    .where('lyrics', 'is not', null)
    .where(sql<boolean>`title = ${title} collate nocase`);
  if (artist) q = q.where(sql<boolean>`artist = ${artist} collate nocase`);
  return q.limit(1).executeTakeFirst();
}
