import { expect, inject, it } from 'vitest';
import { forEachServerEngine } from './engines.js';
import { startTestServer, testDatabaseUrl } from './harness.js';

forEachServerEngine((engine) => {
  it('serves from the engine of its block', async () => {
    const t = await startTestServer();
    try {
      expect(t.earshot.database.engine).toBe(engine);
    } finally {
      await t.close();
    }
  });

  it('gives servers built by hand and CLI runs a fresh database of the block (testDatabaseUrl)', async () => {
    const first = await testDatabaseUrl();
    if (engine === 'sqlite') {
      expect(first).toBeUndefined();
      return;
    }
    const second = await testDatabaseUrl();
    const cluster = new URL(inject('pgUrl'));
    for (const url of [first, second]) expect(new URL(url ?? '').host).toBe(cluster.host);
    expect(second).not.toBe(first);
  });
});
