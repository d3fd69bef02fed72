import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/harness.js';

let t: TestServer;
afterEach(async () => {
  await t?.close();
});

describe('health', () => {
  it('/healthz answers while the process is alive', async () => {
    t = await startTestServer();
    const res = await t.app.inject({ url: '/healthz' });
    expect(res.statusCode).toBe(200);
    // One process on SQLite always leads (runs scans and the watcher).
    expect(res.json()).toMatchObject({ status: 'ok', role: 'leader' });
  });

  it('/readyz is ready with a migrated DB and fails when the DB is unreachable', async () => {
    t = await startTestServer();
    const ok = await t.app.inject({ url: '/readyz' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().checks).toEqual([
      { name: 'database', ok: true },
      { name: 'migrations', ok: true },
    ]);
    t.sqlite.close();
    const down = await t.app.inject({ url: '/readyz' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ status: 'not ready', checks: [{ name: 'database', ok: false }] });
  });
});
