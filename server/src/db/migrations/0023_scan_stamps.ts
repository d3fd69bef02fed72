/**
 * 0023 — a covering index for the scanner's diff: every rescan compares each file's size and
 * mtime with its track's, by path (`LibraryRepository.localTrackStamps`). Through
 * `tracks_local_path` each of the 50,000 rows was a lookup into the wide `tracks` rows (lyrics,
 * comments, MusicBrainz ids); this index holds the four columns, so the query reads only its
 * pages (~100 bytes a track). Costs one more index entry per track written.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index tracks_local_stamp on tracks(local_path, size, mtime, id) where source_type = 'local'`.execute(
    db,
  );
}
