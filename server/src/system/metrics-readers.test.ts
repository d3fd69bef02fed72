/**
 * The scrape-time readers of /metrics on both engines (the real migrated database): job gauges
 * through Kysely, the database's size from its files on SQLite and from pg_database_size on
 * PostgreSQL, and the storage report's database size the same way. The HTTP side of /metrics
 * (tokens, the separate listener) is metrics.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { telemetry } from '../shared/telemetry.js';
import { JobsRepository } from '../sources/jobs/jobs.repository.js';
import { forEachEngine } from '../test/engines.js';
import { registerReaders } from './metrics.js';
import { SystemRepository } from './system.repository.js';

/** `name{labels} value` lines as a map (metrics.test.ts has the same; importing it would run its tests). */
function parseExposition(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

forEachEngine((engine) => {
  describe('metrics readers', () => {
    it('count queued and running jobs by type and read the database size', async () => {
      const database = await engine.open();
      const jobs = new JobsRepository(database.db);
      const now = Date.now();
      for (const key of ['a', 'b', 'c']) {
        await jobs.enqueue({ type: 'cache-track', dedupeKey: key, payload: {}, ownerId: null }, now);
      }
      await jobs.enqueue({ type: 'other', dedupeKey: 'd', payload: {}, ownerId: null }, now);
      await jobs.claimNext(['cache-track'], now);

      const dir = database.engine === 'sqlite' ? dirname(database.path) : mkdtempSync(join(tmpdir(), 'earshot-m-'));
      const paths = {
        dataDir: dir,
        musicDir: dir,
        cacheDir: dir,
        dbDir: dir,
        dbFile: join(dir, 'earshot.db'),
        artworkDir: dir,
      };
      const unregister = registerReaders(database, paths);
      try {
        const series = parseExposition(await telemetry.render());
        expect(series.get('earshot_jobs{type="cache-track",state="queued"}')).toBe(2);
        expect(series.get('earshot_jobs{type="cache-track",state="running"}')).toBe(1);
        expect(series.get('earshot_jobs{type="other",state="queued"}')).toBe(1);
        const bytes = series.get('earshot_database_bytes') ?? 0;
        expect(bytes).toBeGreaterThan(0);
        const serverSide = await new SystemRepository(database.db).serverSideSize();
        if (database.engine === 'sqlite') {
          // The file and its WAL, as the SQLite gauges report them one by one.
          expect(bytes).toBe((series.get('earshot_sqlite_bytes') ?? 0) + (series.get('earshot_sqlite_wal_bytes') ?? 0));
          expect(serverSide).toBeNull();
        } else {
          // No SQLite file behind a PostgreSQL database: those gauges say nothing rather than 0.
          expect(series.has('earshot_sqlite_bytes')).toBe(false);
          expect(serverSide).toBeGreaterThan(1_000_000); // a migrated database is several MB
          expect(Math.abs(bytes - (serverSide ?? 0))).toBeLessThan(1_000_000);
        }
      } finally {
        unregister();
      }
    });
  });
});
