/**
 * 0017 — the search index holds titles, names, artists, albums and genres in Unicode NFKC, the
 * form queries are folded to (catalog/README.md, "Local search"): typing "abc song" finds
 * "ＡＢＣ Ｓｏｎｇ", "fish" finds "ﬁsh", "x2" finds "x²", "ガ" finds halfwidth "ｶﾞ". Only the index
 * folds; the catalog tables (what is displayed) keep the text as tagged.
 *
 * The 0003 triggers are replaced by ones that index `earshot_nfkc(column)` (db/sql-functions.ts,
 * registered by `openDatabase` on every connection), and the rows of an existing library whose
 * text NFKC changes are indexed again. Most text is already NFKC (ASCII always is), so only those
 * rows are touched. Measured on a copy of the scanned 50,000-track bench library (bench/README.md),
 * shared 2-core machine at load average 16: 0.2 s as it is (no row changes); 9.6 s when every
 * track, album and artist name had been given a fullwidth word first (all rows re-indexed).
 */
import { type Kysely, sql } from 'kysely';
import { engineOf, inTransaction } from '../engine.js';

const FOLD = 'earshot_nfkc';

const INDEXED = [
  { table: 'tracks', fts: 'tracks_fts', columns: { title: 'title', artist: 'artist', album: 'album', genre: 'genre' } },
  { table: 'albums', fts: 'albums_fts', columns: { name: 'name', artist: 'album_artist', genre: 'genre' } },
  { table: 'artists', fts: 'artists_fts', columns: { name: 'name' } },
  { table: 'genres', fts: 'genres_fts', columns: { name: 'name' } },
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (engineOf(db) === 'postgres') return; // FTS5 triggers only (PostgreSQL search folds in its own way)
  await inTransaction(db, async (trx) => {
    const run = (text: string) => sql.raw(text).execute(trx);
    for (const { table, fts, columns } of INDEXED) {
      const names = Object.keys(columns);
      const sources: string[] = Object.values(columns);
      const folded = (p: string) => sources.map((c) => `${FOLD}(${p}.${c})`).join(', ');
      const keyOf = (p: string) => `(select rowid from search_keys where item_id = ${p}.id)`;
      await run(`drop trigger ${table}_fts_insert`);
      await run(`drop trigger ${table}_fts_update`);
      await run(
        `create trigger ${table}_fts_insert after insert on ${table} begin
           insert into search_keys(item_id) values (new.id);
           insert into ${fts}(rowid, ${names.join(', ')}) values (${keyOf('new')}, ${folded('new')});
         end`,
      );
      await run(
        `create trigger ${table}_fts_update after update of ${[...new Set(sources)].join(', ')} on ${table}
         begin
           delete from ${fts} where rowid = ${keyOf('old')};
           insert into ${fts}(rowid, ${names.join(', ')}) values (${keyOf('new')}, ${folded('new')});
         end`,
      );
      // (The 0003 delete trigger stays: it removes a row by its key, whatever its text.)

      // Existing rows whose text NFKC changes are indexed again, folded.
      await run('drop table if exists temp.search_refold');
      await run(
        `create temp table search_refold as select k.rowid as rowid from ${table} t join search_keys k on k.item_id = t.id
         where ${sources.map((c) => `t.${c} is not ${FOLD}(t.${c})`).join(' or ')}`,
      );
      await run(`delete from ${fts} where rowid in (select rowid from temp.search_refold)`);
      await run(
        `insert into ${fts}(rowid, ${names.join(', ')})
         select k.rowid, ${folded('t')} from temp.search_refold r
         join search_keys k on k.rowid = r.rowid join ${table} t on t.id = k.item_id`,
      );
      await run('drop table temp.search_refold');
    }
  });
}
