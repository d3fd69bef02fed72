/**
 * 0006 — search index prefixes 1–5 (0003 had 1–3). Prefix terms of four and five letters ("ston",
 * "quel", "beyon") then read one prefix entry instead of merging every word that starts with them:
 * multi-word queries rank 2–6× faster for ~30% more index (README.md in catalog/).
 *
 * FTS5 cannot change `prefix` in place, so each index is dropped, created again and refilled from
 * its catalog table, in one transaction (the 0003 triggers keep working: they name the table).
 */
import { type Kysely, sql } from 'kysely';
import { engineOf, inTransaction } from '../engine.js';

export const TOKENIZE = `tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5'`;

const INDEXED = [
  { table: 'tracks', fts: 'tracks_fts', columns: { title: 'title', artist: 'artist', album: 'album', genre: 'genre' } },
  { table: 'albums', fts: 'albums_fts', columns: { name: 'name', artist: 'album_artist', genre: 'genre' } },
  { table: 'artists', fts: 'artists_fts', columns: { name: 'name' } },
  { table: 'genres', fts: 'genres_fts', columns: { name: 'name' } },
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (engineOf(db) === 'postgres') return; // FTS5 only (0003 made no FTS tables there)
  await inTransaction(db, async (trx) => {
    for (const { table, fts, columns } of INDEXED) {
      const names = Object.keys(columns);
      const values = Object.values(columns).map((c) => `t.${c}`);
      await sql.raw(`drop table ${fts}`).execute(trx);
      await sql.raw(`create virtual table ${fts} using fts5(${names.join(', ')}, ${TOKENIZE})`).execute(trx);
      await sql
        .raw(
          `insert into ${fts}(rowid, ${names.join(', ')})
           select k.rowid, ${values.join(', ')} from ${table} t join search_keys k on k.item_id = t.id`,
        )
        .execute(trx);
      // One segment per index after the refill.
      await sql.raw(`insert into ${fts}(${fts}) values ('optimize')`).execute(trx);
    }
  });
}
