/**
 * `earshot migrate-db`: copies an SQLite database into PostgreSQL. The target is migrated to the
 * same schema first, then every table is copied in foreign-key order inside ONE transaction on
 * the target, and the row count of every table is compared with the source before it commits:
 * a failed or short copy leaves the target as it was.
 */
import type SQLite from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import { engineOf } from './engine.js';
import { migrateToLatest } from './migrate.js';
import type { Database } from './schema.js';
import { SCHEMA_COLUMNS } from './schema-columns.js';

/** Tables not copied: `search_keys` maps FTS5 rowids (SQLite search only); `catalog_version` is a counter set below. */
const SKIPPED = new Set(['search_keys', 'catalog_version']);
const BATCH_ROWS = 500;

export interface TableCopy {
  table: string;
  rows: number;
}

export class CopyRefused extends Error {}

export interface CopyOptions {
  /** Replace the target's rows when it already holds data (else the copy refuses). */
  force?: boolean;
  /** Called after each batch (rows copied so far of `total` for `table`). */
  onProgress?: (table: string, copied: number, total: number) => void;
}

/** Tables in an order where every table comes after the tables its foreign keys point to. */
export function copyOrder(source: SQLite.Database): string[] {
  const tables = Object.keys(SCHEMA_COLUMNS).filter((t) => !SKIPPED.has(t));
  const deps = new Map<string, Set<string>>();
  for (const t of tables) {
    const fks = source.pragma(`foreign_key_list(${t})`) as { table: string }[];
    deps.set(t, new Set(fks.map((f) => f.table).filter((p) => p !== t)));
  }
  const ordered: string[] = [];
  const visit = (t: string, path: Set<string>) => {
    if (ordered.includes(t) || path.has(t)) return;
    path.add(t);
    for (const parent of deps.get(t) ?? []) if (deps.has(parent)) visit(parent, path);
    ordered.push(t);
  };
  for (const t of tables.sort()) visit(t, new Set());
  return ordered;
}

async function targetRowCounts(db: Kysely<Database>, tables: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const t of tables) {
    const r = await sql<{ n: number }>`select count(*) as n from ${sql.table(t)}`.execute(db);
    counts.set(t, Number(r.rows[0]?.n ?? 0));
  }
  return counts;
}

/**
 * Copies `source` (an SQLite database already at the latest migration) into the PostgreSQL
 * `target`. Returns the per-table row counts, verified equal on both sides.
 */
export async function copySqliteToPostgres(
  source: { db: Kysely<Database>; sqlite: SQLite.Database },
  target: Kysely<Database>,
  options: CopyOptions = {},
): Promise<TableCopy[]> {
  if (engineOf(target) !== 'postgres') throw new CopyRefused('the target of migrate-db must be a PostgreSQL database');
  await migrateToLatest(source.db);
  await migrateToLatest(target);
  const tables = copyOrder(source.sqlite);
  const existing = [...(await targetRowCounts(target, tables))].filter(([, n]) => n > 0);
  if (existing.length > 0 && !options.force) {
    const list = existing.map(([t, n]) => `${t} (${n})`).join(', ');
    throw new CopyRefused(`the target database is not empty: ${list}. Use --force to replace its rows.`);
  }

  // One read transaction on the source: a consistent snapshot even if a server still writes to it.
  source.sqlite.prepare('begin').run();
  try {
    return await copyTables(source.sqlite, target, tables, existing.length > 0, options);
  } finally {
    source.sqlite.prepare('rollback').run();
  }
}

async function copyTables(
  sqlite: SQLite.Database,
  target: Kysely<Database>,
  tables: string[],
  replace: boolean,
  options: CopyOptions,
): Promise<TableCopy[]> {
  return target.transaction().execute(async (trx) => {
    if (replace) {
      // Children first so no foreign key blocks a delete; all of it undone if the copy fails.
      for (const t of [...tables].reverse()) await sql`delete from ${sql.table(t)}`.execute(trx);
    }
    const copied: TableCopy[] = [];
    for (const table of tables) {
      const columns = Object.keys(SCHEMA_COLUMNS[table as keyof typeof SCHEMA_COLUMNS]);
      const total = (sqlite.prepare(`select count(*) from ${table}`).pluck().get() as number) ?? 0;
      const page = sqlite.prepare(
        `select rowid as __rowid, ${columns.join(', ')} from ${table} where rowid > ? order by rowid limit ${BATCH_ROWS}`,
      );
      let last = -Infinity;
      let done = 0;
      for (;;) {
        const rows = page.all(last) as Record<string, unknown>[];
        if (rows.length === 0) break;
        last = rows[rows.length - 1].__rowid as number;
        const values = rows.map(({ __rowid, ...row }) => row);
        // Dynamic table name: the row shape is the table's own columns (SCHEMA_COLUMNS).
        await trx
          .insertInto(table as keyof Database)
          .values(values as never)
          .execute();
        done += rows.length;
        options.onProgress?.(table, done, total);
      }
      if (done === 0) options.onProgress?.(table, 0, total);
      copied.push({ table, rows: done });
    }
    // Identity columns continue after the copied ids.
    await sql`select setval(pg_get_serial_sequence('plays', 'id'), coalesce((select max(id) from plays), 0) + 1, false)`.execute(
      trx,
    );
    const version = sqlite.prepare('select version from catalog_version where id = 1').pluck().get() as number;
    await sql`update catalog_version set version = ${version ?? 0} where id = 1`.execute(trx);

    const after = await targetRowCounts(trx, tables);
    const mismatched = copied.filter((c) => after.get(c.table) !== c.rows);
    const sourceCounts = copied.filter(
      (c) => (sqlite.prepare(`select count(*) from ${c.table}`).pluck().get() as number) !== c.rows,
    );
    if (mismatched.length > 0 || sourceCounts.length > 0) {
      const detail = [...mismatched, ...sourceCounts]
        .map((c) => `${c.table}: copied ${c.rows}, target ${after.get(c.table)}`)
        .join('; ');
      throw new Error(`row counts differ after the copy (nothing was committed): ${detail}`);
    }
    return copied;
  });
}
