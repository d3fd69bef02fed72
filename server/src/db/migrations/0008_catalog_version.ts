/**
 * 0008 — a catalog version: one counter that every insert, update and delete of a track, album,
 * artist or genre moves (triggers), whoever writes it (the scanner, remote sources, the CLI,
 * another process). Search keeps its answers and its in-memory copies while the counter holds,
 * so plays, likes, sessions and settings, which write to the same database all day, no longer
 * throw them away (catalog/README.md, "Freshness").
 */
import { type Kysely, sql } from 'kysely';
import { engineOf, inTransaction } from '../engine.js';

export const CATALOG_TABLES = ['tracks', 'albums', 'artists', 'genres'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await inTransaction(db, async (trx) => {
    await sql`create table catalog_version (id integer primary key check (id = 1), version integer not null)`.execute(
      trx,
    );
    await sql`insert into catalog_version (id, version) values (1, 0)`.execute(trx);
    if (engineOf(db) === 'postgres') {
      // One statement-level trigger per table: the counter only has to move, not count rows.
      await sql`create function catalog_version_bump() returns trigger language plpgsql as $$
        begin update catalog_version set version = version + 1 where id = 1; return null; end $$`.execute(trx);
      for (const table of CATALOG_TABLES) {
        await sql
          .raw(
            `create trigger ${table}_catalog after insert or update or delete on ${table}
             for each statement execute function catalog_version_bump()`,
          )
          .execute(trx);
      }
      return;
    }
    for (const table of CATALOG_TABLES) {
      for (const event of ['insert', 'update', 'delete']) {
        await sql
          .raw(
            `create trigger ${table}_catalog_${event} after ${event} on ${table} begin
               update catalog_version set version = version + 1 where id = 1;
             end`,
          )
          .execute(trx);
      }
    }
  });
}
