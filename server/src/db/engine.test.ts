import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { forEachEngine } from '../test/engines.js';
import { type AnyDatabase, connectDatabase, engineOf, maskDatabaseUrl } from './engine.js';
import { PG_SEARCH_TABLES } from './migrations/0019_search_postgres.js';
import { createMigrator, MIGRATIONS, migrateToLatest, pendingMigrations } from './migrate.js';
import { SCHEMA_COLUMNS } from './schema-columns.js';

/** Tables and their columns as the engine's catalog reports them (FTS5 and PostgreSQL search internals left out). */
async function migratedColumns(database: AnyDatabase): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  if (database.engine === 'postgres') {
    const rows = await sql<{ table_name: string; column_name: string }>`
      select table_name, column_name from information_schema.columns
      where table_schema = current_schema() and table_name not like 'kysely_%'`.execute(database.db);
    for (const r of rows.rows) {
      if ((PG_SEARCH_TABLES as readonly string[]).includes(r.table_name)) continue;
      out[r.table_name] ??= [];
      out[r.table_name].push(r.column_name);
    }
  } else {
    const tables = database.sqlite
      .prepare(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%' and sql not like 'CREATE VIRTUAL TABLE%'",
      )
      .pluck()
      .all() as string[];
    for (const table of tables.filter((name) => !/_fts_(data|idx|content|docsize|config)$/.test(name))) {
      out[table] = (database.sqlite.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
    }
  }
  for (const columns of Object.values(out)) columns.sort();
  return out;
}

describe('engine choice', () => {
  it('masks the password (and secret-looking parameters) of a database URL', () => {
    expect(maskDatabaseUrl('postgres://earshot:s3cr%40t@db.lan:5432/music')).toBe(
      'postgres://earshot:***@db.lan:5432/music',
    );
    expect(maskDatabaseUrl('postgresql://db.lan/music?sslpassword=x&application_name=e')).toBe(
      'postgresql://db.lan/music?sslpassword=***&application_name=e',
    );
    expect(maskDatabaseUrl('postgres://earshot@db.lan/music')).toBe('postgres://earshot@db.lan/music');
  });

  it('refuses a URL that is not PostgreSQL, without echoing its password', async () => {
    await expect(connectDatabase({ url: 'mysql://u:hunter2@h/db', path: '' })).rejects.toThrow(
      /postgres:\/\/.*u:\*\*\*@h/,
    );
  });
});

forEachEngine((engine) => {
  describe('migrations', () => {
    it('apply on an empty database, then re-run as a no-op', async () => {
      const database = await engine.open({ migrate: false });
      expect(engineOf(database.db)).toBe(engine.name);
      expect((await migrateToLatest(database.db)).applied).toEqual(Object.keys(MIGRATIONS).sort());
      expect(await pendingMigrations(database.db)).toEqual([]);
      const again = await migrateToLatest(database.db);
      expect(again.applied).toEqual([]);
    });

    it('the typed schema (schema-columns.ts) matches the migrated tables column for column', async () => {
      const database = await engine.open();
      const expected = Object.fromEntries(
        Object.entries(SCHEMA_COLUMNS).map(([table, columns]) => [table, Object.keys(columns).sort()]),
      );
      expect(await migratedColumns(database)).toEqual(expected);
    });

    it('stores millisecond times and reads numbers back as numbers (not strings)', async () => {
      const { db } = await engine.open();
      const now = 1_780_000_000_123; // past 2^31: needs a 64-bit column
      await db
        .insertInto('users')
        .values({ id: 'u1', username: 'Ann', username_key: 'ann', role: 'user', created_at: now, updated_at: now })
        .execute();
      await db.insertInto('plays').values({ user_id: 'u1', played_at: now, seconds_played: 12.75 }).execute();
      await db
        .insertInto('plays')
        .values({ user_id: 'u1', played_at: now + 1, seconds_played: 3 })
        .execute();
      const user = await db.selectFrom('users').select(['created_at', 'disabled']).executeTakeFirstOrThrow();
      expect(user).toEqual({ created_at: now, disabled: 0 });
      const plays = await db.selectFrom('plays').select(['id', 'seconds_played']).orderBy('id').execute();
      expect(plays).toEqual([
        { id: 1, seconds_played: 12.75 },
        { id: 2, seconds_played: 3 },
      ]);
      const totals = await db
        .selectFrom('plays')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('played_at').as('s')])
        .executeTakeFirstOrThrow();
      expect(totals).toEqual({ n: 2, s: 2 * now + 1 });
    });

    it('sorts and compares names case-insensitively under `collate nocase`', async () => {
      const { db } = await engine.open();
      for (const [id, name] of [
        ['a', 'beta'],
        ['b', 'Alpha'],
        ['c', 'alpha two'],
        ['d', 'Gamma'],
      ]) {
        await db.insertInto('artists').values({ id, name, name_key: id, added_at: 0, updated_at: 0 }).execute();
      }
      const sorted = await db.selectFrom('artists').select('name').orderBy(sql`name collate nocase`).execute();
      expect(sorted.map((r) => r.name)).toEqual(['Alpha', 'alpha two', 'beta', 'Gamma']);
      const found = await db
        .selectFrom('artists')
        .select('id')
        .where(sql<boolean>`name = ${'GAMMA'} collate nocase`)
        .execute();
      expect(found).toEqual([{ id: 'd' }]);
    });

    it('0007 counts genres and 0008 moves the catalog version on catalog writes only', async () => {
      const database = await engine.open({ migrate: false });
      const { db } = database;
      expect((await createMigrator(db).migrateTo('0006_search_prefixes')).error).toBeUndefined();
      const run = (q: string) => sql.raw(q).execute(db);
      await run(
        "insert into albums (id, name, album_artist, group_key, added_at, updated_at) values ('al1', 'A', 'X', 'a', 0, 0), ('al2', 'B', 'X', 'b', 0, 0)",
      );
      await run(`insert into tracks (id, title, album_id, added_at, updated_at) values
             ('t1', 'One', 'al1', 0, 0), ('t2', 'Two', 'al1', 0, 0), ('t3', 'Three', 'al2', 0, 0)`);
      await run("insert into genres (id, name, name_key) values ('g1', 'Rock', 'rock'), ('g2', 'Jazz', 'jazz')");
      await run(
        "insert into track_genres (track_id, genre_id) values ('t1', 'g1'), ('t2', 'g1'), ('t3', 'g1'), ('t3', 'g2')",
      );
      await migrateToLatest(db);
      const genres = await db.selectFrom('genres').select(['id', 'track_count', 'album_count']).orderBy('id').execute();
      expect(genres).toEqual([
        { id: 'g1', track_count: 3, album_count: 2 },
        { id: 'g2', track_count: 1, album_count: 1 },
      ]);

      const version = async () =>
        (await db.selectFrom('catalog_version').select('version').executeTakeFirstOrThrow()).version;
      const steps: [string, boolean][] = [
        ["insert into tracks (id, title, added_at, updated_at) values ('t9', 'Nine', 0, 0)", true],
        ["update tracks set is_cached = 1 where id = 't9'", true],
        [
          "insert into users (id, username, username_key, role, created_at, updated_at) values ('u1', 'u', 'u', 'user', 0, 0)",
          false,
        ],
        ["update users set display_name = 'U' where id = 'u1'", false],
        ["delete from tracks where id = 't9'", true],
      ];
      for (const [statement, moves] of steps) {
        const before = await version();
        await run(statement);
        expect({ statement, moved: (await version()) > before }).toEqual({ statement, moved: moves });
      }
    });
  });
});
