/**
 * 0008 — a catalog version: one counter that every insert, update and delete of a track, album,
 * artist or genre moves (triggers), whoever writes it (the scanner, remote sources, the CLI,
 * another process). Search keeps its answers and its in-memory copies while the counter holds,
 * so plays, likes, sessions and settings, which write to the same database all day, no longer
 * throw them away (catalog/README.md, "Freshness").
 */
import { type Kysely, sql } from 'kysely';

export const CATALOG_TABLES = ['tracks', 'albums', 'artists', 'genres'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`create table catalog_version (id integer primary key check (id = 1), version integer not null)`.execute(
      trx,
    );
    await sql`insert into catalog_version (id, version) values (1, 0)`.execute(trx);
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
