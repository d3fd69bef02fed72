/**
 * Migration 0019 on PostgreSQL: the search tables follow every catalog write (insert, rename,
 * delete, rows that existed before the migration), and a role that may not create the `unaccent`
 * extension gets an error naming the one line a privileged role runs first.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { hasPostgres, postgresEngine } from '../test/engines.js';
import { connectDatabase } from './engine.js';
import { createMigrator, migrateToLatest } from './migrate.js';

describe.skipIf(!hasPostgres())('PostgreSQL search tables (0019)', () => {
  it('index existing rows, then follow inserts, renames and deletes (triggers)', async () => {
    const database = await postgresEngine.open({ migrate: false });
    const { db } = database;
    await createMigrator(db).migrateTo('0017_search_nfkc');
    const track = (id: string, title: string) =>
      ({ id, title, artist: 'Ｂａｎｄ', local_path: `${id}.mp3`, duration: 1, added_at: 0, updated_at: 0 }) as never;
    await db.insertInto('tracks').values(track('old', 'Ancient Café')).execute();
    await migrateToLatest(db);
    const lexemes = async (id: string) =>
      (await sql<{ doc: string }>`select doc::text as doc from search_tracks where id = ${id}`.execute(db)).rows[0]
        ?.doc;
    // Folded (NFKC, accents, case), words at their positions, title A and artist B.
    expect(await lexemes('old')).toBe("'ancient':1A 'band':3B 'cafe':2A");
    await db.insertInto('tracks').values(track('new', "It's AC/DC")).execute();
    expect(await lexemes('new')).toBe("'ac':3A 'band':5B 'dc':4A 'it':1A 's':2A");
    await db.updateTable('tracks').set({ title: 'Renamed' }).where('id', '=', 'new').execute();
    expect(await lexemes('new')).toBe("'band':2B 'renamed':1A");
    // Writes that do not touch the indexed columns leave the row alone.
    await db.updateTable('tracks').set({ duration: 2 }).where('id', '=', 'new').execute();
    expect(await lexemes('new')).toBe("'band':2B 'renamed':1A");
    await db.deleteFrom('tracks').where('id', '=', 'old').execute();
    expect(await lexemes('old')).toBeUndefined();
    const query = async (words: string) =>
      (await sql<{ q: string }>`select earshot_search_query(${words})::text as q`.execute(db)).rows[0]?.q;
    expect(await query("Ｂéyoncé's  \\ & | ! ( ) : * ''")).toBe("'beyonce':* & 's':*");
    expect(await query('')).toBe('');
  });

  it('names `create extension unaccent` when the role may not create it', async () => {
    const database = await postgresEngine.open({ migrate: false });
    const admin = database.db;
    const name = (await sql<{ d: string }>`select current_database() as d`.execute(admin)).rows[0]?.d as string;
    const role = `limited_${name}`.slice(0, 60);
    // A role that may create tables in the public schema but not extensions in the database.
    await sql.raw(`create role "${role}" login`).execute(admin);
    await sql.raw(`grant create on schema public to "${role}"`).execute(admin);
    const url = new URL(database.rawUrl as string);
    url.username = role;
    const limited = await connectDatabase({ url: url.toString(), path: '' });
    try {
      await expect(migrateToLatest(limited.db)).rejects.toThrow(/create extension unaccent;/);
      // Nothing of 0019 was left behind; after the owner creates the extension the migration runs.
      await sql`create extension unaccent`.execute(admin);
      await sql.raw(`grant create on schema public to "${role}"`).execute(admin);
      await migrateToLatest(limited.db);
      const tables = await sql<{
        n: number;
      }>`select count(*)::int as n from pg_tables where tablename like 'search\\_%'`.execute(admin);
      expect(tables.rows[0]?.n).toBe(5); // search_keys and the four search tables
    } finally {
      await limited.close();
      await sql.raw(`drop owned by "${role}" cascade`).execute(admin);
      await sql.raw(`drop role "${role}"`).execute(admin);
    }
  });
});
