/** Liveness and readiness on both engines: readiness fails when the database goes away. */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { forEachServerEngine } from '../test/engines.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { cutOffDatabase } from '../test/postgres.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

forEachServerEngine((engine) => {
  describe('health', () => {
    it('/healthz answers while the process is alive', async () => {
      t = await startTestServer();
      if (engine === 'postgres') {
        // On PostgreSQL a replica leads only once it holds the leader lock (the election starts
        // with the background work, off in tests): before that it must not claim to lead.
        expect((await t.app.inject({ url: '/healthz' })).json()).toMatchObject({ role: 'follower' });
        await t.earshot.cluster.leader.start();
      }
      const res = await t.app.inject({ url: '/healthz' });
      expect(res.statusCode).toBe(200);
      // One process on SQLite always leads (runs scans and the watcher); on PostgreSQL the only
      // replica wins the election.
      expect(res.json()).toMatchObject({ status: 'ok', role: 'leader' });
    });

    it('/readyz is ready with a migrated DB and fails when the DB is unreachable', async () => {
      const server = await startTestServer();
      t = server;
      const ok = await server.app.inject({ url: '/readyz' });
      expect(ok.statusCode).toBe(200);
      expect(ok.json().checks).toEqual([
        { name: 'database', ok: true },
        { name: 'migrations', ok: true },
      ]);
      if (engine === 'sqlite') server.sqlite.close();
      else await cutOffDatabase(inject('pgUrl'), server.config.databaseUrl ?? '');
      const down = await server.app.inject({ url: '/readyz' });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ status: 'not ready', checks: [{ name: 'database', ok: false }] });
    });
  });
});
