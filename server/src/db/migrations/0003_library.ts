/**
 * 0003 — library: scan runs (progress, summaries, resumability), unreadable files with reasons,
 * and the FTS5 search index over tracks, albums, artists and genres.
 *
 * Search index design: one FTS5 table per kind (so each section of a search ranks only its own
 * rows). FTS rowids must be stable integers, but `tracks`/`albums`/… have text primary keys whose
 * implicit rowids VACUUM may renumber — so `search_keys` (INTEGER PRIMARY KEY, stable) maps each
 * catalog id to its FTS rowid. Triggers keep the index in step with every writer (the scanner,
 * remote sources, edits), so nothing can forget to update it.
 */
import { type Kysely, sql } from 'kysely';
import { engineOf } from '../engine.js';

const TOKENIZE = `tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'`;

interface Indexed {
  table: string;
  fts: string;
  /** FTS column name → SQL expression over NEW/OLD (prefix added per trigger). */
  columns: Record<string, string>;
}

const INDEXED: Indexed[] = [
  { table: 'tracks', fts: 'tracks_fts', columns: { title: 'title', artist: 'artist', album: 'album', genre: 'genre' } },
  { table: 'albums', fts: 'albums_fts', columns: { name: 'name', artist: 'album_artist', genre: 'genre' } },
  { table: 'artists', fts: 'artists_fts', columns: { name: 'name' } },
  { table: 'genres', fts: 'genres_fts', columns: { name: 'name' } },
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('scan_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('full', 'incremental')`))
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('running', 'done', 'failed', 'interrupted')`))
    .addColumn('phase', 'text')
    .addColumn('trigger', 'text', (c) => c.notNull().defaultTo('manual')) // manual | start | watch | schedule | cli
    // "host:pid" of the process running the scan: a run whose process is gone is 'interrupted', one
    // whose process lives (e.g. `earshot scan` beside the server) blocks a second concurrent scan.
    .addColumn('owner', 'text')
    .addColumn('files_total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('files_done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('added', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('moved', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('removed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('unreadable', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('deferred', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('phase_ms', 'text', (c) => c.notNull().defaultTo('{}')) // JSON: phase → milliseconds
    .addColumn('error', 'text')
    .addColumn('started_at', 'integer', (c) => c.notNull())
    .addColumn('finished_at', 'integer')
    .execute();
  await db.schema.createIndex('scan_runs_started').on('scan_runs').column('started_at').execute();

  await db.schema
    .createTable('scan_errors')
    .addColumn('local_path', 'text', (c) => c.primaryKey()) // relative to the music dir
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('mtime', 'integer', (c) => c.notNull())
    .addColumn('seen_at', 'integer', (c) => c.notNull())
    .execute();

  // PostgreSQL: a case-insensitive collation under SQLite's name, so `x collate nocase` in the
  // repositories' sorts and comparisons means the same on both engines.
  const postgres = engineOf(db) === 'postgres';
  if (postgres) {
    await sql`create collation if not exists nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`.execute(
      db,
    );
  }
  // Browsing sorts (case-insensitive names, album artist) without a full sort per page.
  await sql`create index albums_name on albums(name collate nocase)`.execute(db);
  await sql`create index albums_artist_name on albums(album_artist collate nocase, name collate nocase)`.execute(db);
  await sql`create index albums_added on albums(added_at)`.execute(db);
  await sql`create index artists_name on artists(name collate nocase)`.execute(db);
  await sql`create index tracks_title on tracks(title collate nocase)`.execute(db);

  await db.schema
    .createTable('search_keys')
    .addColumn('rowid', 'integer', (c) => (postgres ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn('item_id', 'text', (c) => c.notNull().unique())
    .execute();

  // FTS5 and its triggers are SQLite's; PostgreSQL search has its own index (catalog/README.md).
  if (postgres) return;
  for (const { table, fts, columns } of INDEXED) {
    const names = Object.keys(columns);
    await sql.raw(`create virtual table ${fts} using fts5(${names.join(', ')}, ${TOKENIZE})`).execute(db);
    const values = (p: string) => names.map((n) => `${p}.${columns[n]}`).join(', ');
    const keyOf = (p: string) => `(select rowid from search_keys where item_id = ${p}.id)`;
    await sql
      .raw(
        `create trigger ${table}_fts_insert after insert on ${table} begin
           insert into search_keys(item_id) values (new.id);
           insert into ${fts}(rowid, ${names.join(', ')}) values (${keyOf('new')}, ${values('new')});
         end`,
      )
      .execute(db);
    await sql
      .raw(
        `create trigger ${table}_fts_delete after delete on ${table} begin
           delete from ${fts} where rowid = ${keyOf('old')};
           delete from search_keys where item_id = old.id;
         end`,
      )
      .execute(db);
    await sql
      .raw(
        `create trigger ${table}_fts_update after update of ${[...new Set(Object.values(columns))].join(', ')} on ${table}
         begin
           delete from ${fts} where rowid = ${keyOf('old')};
           insert into ${fts}(rowid, ${names.join(', ')}) values (${keyOf('new')}, ${values('new')});
         end`,
      )
      .execute(db);
  }

  // Index anything that existed before this migration (e.g. remote tracks).
  for (const { table, fts, columns } of INDEXED) {
    const names = Object.keys(columns);
    await sql.raw(`insert or ignore into search_keys(item_id) select id from ${table}`).execute(db);
    await sql
      .raw(
        `insert into ${fts}(rowid, ${names.join(', ')})
         select k.rowid, ${names.map((n) => `t.${columns[n]}`).join(', ')} from ${table} t join search_keys k on k.item_id = t.id`,
      )
      .execute(db);
  }
}
