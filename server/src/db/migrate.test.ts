import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkIntegrity, openDatabase } from './database.js';
import { createMigrator, MIGRATIONS, migrateToLatest, pendingMigrations } from './migrate.js';
import { SCHEMA_COLUMNS } from './schema-columns.js';

const dir = mkdtempSync(join(tmpdir(), 'earshot-migrate-'));

describe('migrations', () => {
  it('apply on an empty database, then re-run as a no-op on the existing one', async () => {
    const file = join(dir, 'a.db');
    const first = openDatabase(file);
    const report = await migrateToLatest(first.db);
    expect(report.applied).toEqual(Object.keys(MIGRATIONS).sort());
    expect(await pendingMigrations(first.db)).toEqual([]);
    await first.close();

    const again = openDatabase(file);
    const second = await migrateToLatest(again.db);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied.sort()).toEqual(Object.keys(MIGRATIONS).sort());
    expect(checkIntegrity(again.sqlite, true)).toEqual(['ok']);
    await again.close();
  });

  it('sets the pragmas Earshot relies on', async () => {
    const opened = openDatabase(join(dir, 'p.db'));
    expect(opened.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(opened.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(opened.sqlite.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(opened.sqlite.pragma('busy_timeout', { simple: true })).toBe(5000);
    await opened.close();
  });

  it('the typed schema (db/schema.ts) matches the migrated tables column for column', async () => {
    const opened = openDatabase(join(dir, 's.db'));
    await migrateToLatest(opened.db);
    const tables = (
      opened.sqlite
        .prepare(
          "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%' and sql not like 'CREATE VIRTUAL TABLE%'",
        )
        .all() as { name: string }[]
    )
      .map((r) => r.name)
      // FTS5 shadow tables belong to their virtual table.
      .filter((name) => !/_(data|idx|content|docsize|config)$/.test(name) || name in SCHEMA_COLUMNS)
      .sort();
    expect(tables).toEqual(Object.keys(SCHEMA_COLUMNS).sort());
    for (const table of tables) {
      const columns = (opened.sqlite.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name).sort();
      expect({ table, columns }).toEqual({
        table,
        columns: Object.keys(SCHEMA_COLUMNS[table as keyof typeof SCHEMA_COLUMNS]).sort(),
      });
    }
    await opened.close();
  });

  it('0006 rebuilds the search indexes of an existing library with prefixes 1–5, losing nothing', async () => {
    const opened = openDatabase(join(dir, 'u.db'));
    const migrated = await createMigrator(opened.db).migrateTo('0005_sources');
    expect(migrated.error).toBeUndefined();
    const insert = opened.sqlite.prepare(
      `insert into tracks (id, title, artist, album, genre, added_at, updated_at) values (?, ?, ?, ?, ?, 0, 0)`,
    );
    insert.run('t1', 'Stonehenge Blues', 'Beyoncé', 'Quelque Chose', 'Rock');
    insert.run('t2', 'Halo', 'Beyoncé', 'I Am... Sasha Fierce', 'Pop');
    opened.sqlite
      .prepare(
        "insert into artists (id, name, name_key, added_at, updated_at) values ('a1', 'Stone Roses', 'stone roses', 0, 0)",
      )
      .run();
    const prefixes = () =>
      (
        opened.sqlite.prepare("select sql from sqlite_master where name = 'tracks_fts'").get() as { sql: string }
      ).sql.match(/prefix = '([^']*)'/)?.[1];
    const matches = (fts: string, q: string) =>
      (opened.sqlite.prepare(`select count(*) n from ${fts} where ${fts} match ?`).get(q) as { n: number }).n;
    expect(matches('tracks_fts', '"stone"*')).toBe(1);
    expect(prefixes()).toBe('1 2 3');

    expect((await createMigrator(opened.db).migrateTo('0006_search_prefixes')).error).toBeUndefined();
    expect(prefixes()).toBe('1 2 3 4 5');
    // Every row is still found, through the new 4- and 5-letter prefix entries too.
    expect(matches('tracks_fts', '"stone"*')).toBe(1);
    expect(matches('tracks_fts', '"beyon"*')).toBe(2);
    expect(matches('tracks_fts', '"quel"*')).toBe(1);
    expect(matches('artists_fts', '"stone"*')).toBe(1);
    // The 0003 triggers keep the rebuilt index in step with later writes.
    insert.run('t3', 'Stone Cold', null, null, null);
    opened.sqlite.prepare("update tracks set title = 'Halo (Live)' where id = 't2'").run();
    opened.sqlite.prepare("delete from tracks where id = 't1'").run();
    expect(matches('tracks_fts', '"stone"*')).toBe(1);
    expect(matches('tracks_fts', '"live"*')).toBe(1);
    opened.sqlite.exec("insert into tracks_fts(tracks_fts) values ('integrity-check')");
    expect(checkIntegrity(opened.sqlite, true)).toEqual(['ok']);
    await opened.close();
  });
  it('0007 gives existing genres their track and album counts', async () => {
    const opened = openDatabase(join(dir, 'g.db'));
    expect((await createMigrator(opened.db).migrateTo('0006_search_prefixes')).error).toBeUndefined();
    const run = (q: string) => opened.sqlite.prepare(q).run();
    run(
      "insert into albums (id, name, album_artist, group_key, added_at, updated_at) values ('al1', 'A', 'X', 'a', 0, 0), ('al2', 'B', 'X', 'b', 0, 0)",
    );
    run(`insert into tracks (id, title, album_id, added_at, updated_at) values
           ('t1', 'One', 'al1', 0, 0), ('t2', 'Two', 'al1', 0, 0), ('t3', 'Three', 'al2', 0, 0)`);
    run("insert into genres (id, name, name_key) values ('g1', 'Rock', 'rock'), ('g2', 'Jazz', 'jazz')");
    run("insert into track_genres (track_id, genre_id) values ('t1', 'g1'), ('t2', 'g1'), ('t3', 'g1'), ('t3', 'g2')");

    expect((await migrateToLatest(opened.db)).applied.slice(0, 2)).toEqual([
      '0007_genre_counts',
      '0008_catalog_version',
    ]);
    expect(opened.sqlite.prepare('select id, track_count, album_count from genres order by id').all()).toEqual([
      { id: 'g1', track_count: 3, album_count: 2 },
      { id: 'g2', track_count: 1, album_count: 1 },
    ]);
    await opened.close();
  });
  it('0008 moves the catalog version on every catalog change and on nothing else', async () => {
    const opened = openDatabase(join(dir, 'v.db'));
    await migrateToLatest(opened.db);
    const version = () =>
      (opened.sqlite.prepare('select version from catalog_version').get() as { version: number }).version;
    const run = (q: string) => opened.sqlite.prepare(q).run();
    const steps: [string, boolean][] = [
      ["insert into tracks (id, title, added_at, updated_at) values ('t1', 'One', 0, 0)", true],
      ["update tracks set is_cached = 1 where id = 't1'", true],
      ["insert into artists (id, name, name_key, added_at, updated_at) values ('a1', 'A', 'a', 0, 0)", true],
      ["update artists set track_count = 3 where id = 'a1'", true],
      ["insert into genres (id, name, name_key) values ('g1', 'Rock', 'rock')", true],
      [
        "insert into users (id, username, username_key, role, created_at, updated_at) values ('u1', 'u', 'u', 'user', 0, 0)",
        false,
      ],
      ["update users set display_name = 'U' where id = 'u1'", false],
      ["delete from genres where id = 'g1'", true],
      ["delete from tracks where id = 't1'", true],
    ];
    for (const [statement, moves] of steps) {
      const before = version();
      run(statement);
      expect({ statement, moved: version() > before }).toEqual({ statement, moved: moves });
    }
    await opened.close();
  });

  it('0017 indexes existing rows in NFKC: typed in ASCII, old fullwidth and ligature rows are found', async () => {
    const opened = openDatabase(join(dir, 'n.db'));
    expect((await createMigrator(opened.db).migrateTo('0016_share_description')).error).toBeUndefined();
    const run = (q: string, ...params: unknown[]) => opened.sqlite.prepare(q).run(...params);
    const insertTrack = `insert into tracks (id, title, artist, album, genre, added_at, updated_at) values (?, ?, ?, ?, ?, 0, 0)`;
    run(insertTrack, 't1', 'ＡＢＣ Ｓｏｎｇ', 'Ｂａｎｄ', 'ﬁrst Ｈｉｔｓ', 'Ｊ－Ｐｏｐ');
    run(insertTrack, 't2', 'Plain Song', 'Band', null, null);
    run(insertTrack, 't3', 'ｶﾞｰﾙ x²', '𝐁𝐨𝐥𝐝', null, null);
    run(
      "insert into albums (id, name, album_artist, genre, group_key, added_at, updated_at) values ('al1', 'ﬁrst Ｈｉｔｓ', 'Ｂａｎｄ', null, 'k', 0, 0)",
    );
    run("insert into artists (id, name, name_key, added_at, updated_at) values ('a1', 'Ｂａｎｄ', 'band', 0, 0)");
    run("insert into genres (id, name, name_key) values ('g1', 'Ｊ－Ｐｏｐ', 'j-pop')");
    const matches = (fts: string, q: string) =>
      (opened.sqlite.prepare(`select count(*) n from ${fts} where ${fts} match ?`).get(q) as { n: number }).n;
    // Before: the index holds the text as tagged, so ASCII typing misses the fullwidth rows.
    expect(matches('tracks_fts', '"abc"*')).toBe(0);
    expect(matches('tracks_fts', '"song"*')).toBe(1);

    const report = await migrateToLatest(opened.db);
    expect(report.applied).toContain('0017_search_nfkc');
    expect(matches('tracks_fts', '"abc"* "song"*')).toBe(1);
    expect(matches('tracks_fts', '"song"*')).toBe(2);
    expect(matches('tracks_fts', '"first"*')).toBe(1);
    expect(matches('tracks_fts', '"band"*')).toBe(2);
    expect(matches('tracks_fts', '"ガール"*')).toBe(1);
    expect(matches('tracks_fts', '"x2"')).toBe(1);
    expect(matches('tracks_fts', '"bold"')).toBe(1);
    expect(matches('tracks_fts', 'genre : "pop"')).toBe(1);
    expect(matches('albums_fts', '"first" "hits"')).toBe(1);
    expect(matches('albums_fts', 'artist : "band"')).toBe(1);
    expect(matches('artists_fts', '"band"')).toBe(1);
    expect(matches('genres_fts', '"j" "pop"')).toBe(1);
    // What is displayed keeps the text as tagged.
    expect(opened.sqlite.prepare("select title, artist from tracks where id = 't1'").get()).toEqual({
      title: 'ＡＢＣ Ｓｏｎｇ',
      artist: 'Ｂａｎｄ',
    });

    // Later writes go through the new triggers: inserts and updates are folded, deletes remove.
    run(insertTrack, 't4', 'Ｎｅｗ Ｏｎｅ', null, null, null);
    run("update tracks set title = 'Ｒｅｎａｍｅｄ' where id = 't2'");
    run("delete from tracks where id = 't3'");
    expect(matches('tracks_fts', '"new" "one"')).toBe(1);
    expect(matches('tracks_fts', '"renamed"')).toBe(1);
    expect(matches('tracks_fts', '"plain"')).toBe(0);
    expect(matches('tracks_fts', '"bold"')).toBe(0);
    for (const fts of ['tracks_fts', 'albums_fts', 'artists_fts', 'genres_fts']) {
      opened.sqlite.exec(`insert into ${fts}(${fts}) values ('integrity-check')`);
    }
    expect(checkIntegrity(opened.sqlite, true)).toEqual(['ok']);
    await opened.close();
  });
});
