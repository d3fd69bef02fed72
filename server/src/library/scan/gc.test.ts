/** The gc phase: artwork nothing shows any more goes (row and file); remote thumbnails and used artwork stay. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachEngine } from '../../test/engines.js';
import { type LibraryTestServer, startLibraryServer } from '../../test/library-server.js';
import { scanContext } from '../../test/scan-context.js';
import { gcPhase } from './gc.js';

let t: LibraryTestServer;

async function artwork(id: string, source: 'embedded' | 'file' | 'remote') {
  const path = `artwork/${id.slice(0, 2)}/${id}.jpg`;
  const abs = join(t.earshot.paths.cacheDir, path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, 'jpeg');
  await t.earshot.database.db
    .insertInto('artwork')
    .values({ id, path, mime: 'image/jpeg', size: 4, source, created_at: 0 })
    .execute();
  return abs;
}

forEachEngine((engine) => {
  beforeAll(async () => {
    t = await startLibraryServer(engine);
  });
  afterAll(() => t?.close());

  describe('gc phase', () => {
    it('deletes unused embedded and folder artwork with its files; keeps remote and used artwork', async () => {
      const unusedEmbedded = await artwork('aa'.repeat(32), 'embedded');
      const unusedFolder = await artwork('bb'.repeat(32), 'file');
      const remote = await artwork('cc'.repeat(32), 'remote');
      const used = await artwork('dd'.repeat(32), 'embedded');
      await t.earshot.database.db
        .insertInto('tracks')
        .values({ id: 't1', title: 'T', artwork_id: 'dd'.repeat(32), added_at: 0, updated_at: 0 })
        .execute();
      await gcPhase(scanContext(t));
      const ids = (await t.earshot.database.db.selectFrom('artwork').select('id').execute()).map((r) => r.id).sort();
      expect(ids).toEqual(['cc'.repeat(32), 'dd'.repeat(32)]);
      expect([unusedEmbedded, unusedFolder, remote, used].map((f) => existsSync(f))).toEqual([
        false,
        false,
        true,
        true,
      ]);
    });
  });
});
