/**
 * Run a test file's database tests on both engines: a real SQLite file and a fresh database on the
 * run's throwaway PostgreSQL cluster (global-setup.ts). One line opts a file in:
 *
 *   forEachEngine((engine) => { it('…', async () => { const { db } = await engine.open(); … }); });
 *
 * Without PostgreSQL on the machine the PostgreSQL half is skipped and says why (once per file).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import type { Db } from '../db/database.js';
import { type AnyDatabase, connectDatabase, type Engine } from '../db/engine.js';
import { migrateToLatest } from '../db/migrate.js';
import { setDefaultTestDatabase } from './harness.js';
import { createTestDatabase } from './postgres.js';

export interface EngineUnderTest {
  name: Engine;
  /** A fresh, migrated database (closed and dropped after the file). */
  open(options?: { migrate?: boolean }): Promise<AnyDatabase & { db: Db; url?: string; rawUrl?: string }>;
}

function pgContext() {
  return { url: inject('pgUrl'), skipReason: inject('pgSkipReason'), template: inject('pgTemplate') };
}

/** Whether this run has a PostgreSQL cluster (else the PostgreSQL half of each file is skipped). */
export function hasPostgres(): boolean {
  return Boolean(pgContext().url);
}

const cleanups: (() => Promise<void>)[] = [];
let registered = false;
function onFileEnd(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
  if (registered) return;
  registered = true;
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
}

export const sqliteEngine: EngineUnderTest = {
  name: 'sqlite',
  async open(options = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-engine-'));
    const database = await connectDatabase({ path: join(dir, 'earshot.db') });
    onFileEnd(() => database.close());
    if (options.migrate ?? true) await migrateToLatest(database.db);
    return database;
  },
};

export const postgresEngine: EngineUnderTest = {
  name: 'postgres',
  async open(options = {}) {
    const migrate = options.migrate ?? true;
    const created = await createTestDatabase(pgContext(), 'engine', { migrated: migrate });
    if (!created) throw new Error('no PostgreSQL cluster in this run');
    const database = await connectDatabase({ url: created.url, path: '' });
    onFileEnd(async () => {
      await database.close();
      await created.drop();
    });
    if (migrate) await migrateToLatest(database.db);
    return Object.assign(database, { rawUrl: created.url });
  },
};

/** Declares the same tests once per engine (`describe('sqlite')`, `describe('postgres')`). */
export function forEachEngine(body: (engine: EngineUnderTest) => void): void {
  describe('sqlite', () => body(sqliteEngine));
  const context = pgContext();
  if (!context.url) console.warn(`PostgreSQL tests skipped: ${context.skipReason}`);
  describe.skipIf(!context.url)('postgres', () => body(postgresEngine));
}

/**
 * Declares the same app-level tests once per engine: in the `postgres` block every
 * `startTestServer()` that names no database serves from a fresh database on the run's cluster
 * (dropped after the file), so HTTP tests written for SQLite run unchanged on PostgreSQL.
 */
export function forEachServerEngine(body: (engine: Engine) => void): void {
  describe('sqlite', () => body('sqlite'));
  const context = pgContext();
  if (!context.url) console.warn(`PostgreSQL tests skipped: ${context.skipReason}`);
  describe.skipIf(!context.url)('postgres', () => {
    const databases: { drop(): Promise<void> }[] = [];
    beforeAll(() =>
      setDefaultTestDatabase(async ({ migrated }) => {
        const created = await createTestDatabase(pgContext(), 'app', { migrated });
        if (!created) throw new Error('no PostgreSQL cluster in this run');
        databases.push(created);
        return created.url;
      }),
    );
    afterAll(async () => {
      setDefaultTestDatabase(undefined);
      for (const d of databases.splice(0)) await d.drop();
    });
    body('postgres');
  });
}
