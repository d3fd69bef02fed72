import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from './postgres.js';

const context = { url: inject('pgUrl'), skipReason: inject('pgSkipReason') };
const database = await createTestDatabase(context, 'harness');
afterAll(() => database?.drop());

describe.skipIf(!database)('the test PostgreSQL cluster', () => {
  it('serves a fresh database on loopback with unaccent available', async () => {
    const client = new pg.Client({ connectionString: database?.url });
    await client.connect();
    try {
      expect(new URL(database?.url ?? '').hostname).toBe('127.0.0.1');
      const tables = await client.query("select count(*)::int as n from pg_tables where schemaname = 'public'");
      expect(tables.rows[0].n).toBe(0);
      await client.query('create extension if not exists unaccent');
      const folded = await client.query("select unaccent('Beyoncé Sigur Rós') as t");
      expect(folded.rows[0].t).toBe('Beyonce Sigur Ros');
    } finally {
      await client.end();
    }
  });
});
