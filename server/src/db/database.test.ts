import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDatabase, releaseMemory, withStatementCache } from './database.js';

const dir = mkdtempSync(join(tmpdir(), 'earshot-database-'));

describe('statement cache behind Kysely', () => {
  it('hands back the same prepared statement for the same SQL, but not for long SQL', () => {
    const opened = openDatabase(join(dir, 'cache.db'));
    const cached = withStatementCache(opened.sqlite);
    expect(cached.prepare('select 1 as one')).toBe(cached.prepare('select 1 as one'));
    expect(cached.prepare('select 2 as two')).not.toBe(cached.prepare('select 1 as one'));
    const long = `select 1 as x where 1 in (${Array.from({ length: 600 }, (_, i) => i + 1).join(', ')})`;
    expect(cached.prepare(long)).not.toBe(cached.prepare(long));
    opened.sqlite.close();
  });

  it('keeps answering right across schema changes, transactions and many distinct queries', async () => {
    const opened = openDatabase(join(dir, 'kysely.db'));
    const { db } = opened;
    await sql`create table t (a integer)`.execute(db);
    await sql`insert into t values (1), (2)`.execute(db);
    const all = () => sql<Record<string, number>>`select * from t order by 1`.execute(db).then((r) => r.rows);
    expect(await all()).toEqual([{ a: 1 }, { a: 2 }]);
    await sql`alter table t add column b integer default 5`.execute(db);
    expect(await all()).toEqual([
      { a: 1, b: 5 },
      { a: 2, b: 5 },
    ]);
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`insert into t (a) values (3)`.execute(trx);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await all()).length).toBe(2);
    // More distinct statements than the cache holds: evicted ones are simply prepared again.
    for (let i = 0; i < 250; i++) {
      const r = await sql<{ v: number }>`select ${sql.raw(String(i))} + a as v from t where a = 1`.execute(db);
      expect(r.rows).toEqual([{ v: i + 1 }]);
    }
    releaseMemory(opened.sqlite);
    expect(await all()).toHaveLength(2);
    await opened.close();
    releaseMemory(opened.sqlite); // closed: a no-op, not an error
  });
});
