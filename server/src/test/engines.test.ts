import { expect, it } from 'vitest';
import { forEachServerEngine } from './engines.js';
import { startTestServer } from './harness.js';

forEachServerEngine((engine) => {
  it('serves from the engine of its block', async () => {
    const t = await startTestServer();
    try {
      expect(t.earshot.database.engine).toBe(engine);
    } finally {
      await t.close();
    }
  });
});
