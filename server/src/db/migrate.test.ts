import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkIntegrity, openDatabase } from './database.js';
import { MIGRATIONS, migrateToLatest, pendingMigrations } from './migrate.js';
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
});
