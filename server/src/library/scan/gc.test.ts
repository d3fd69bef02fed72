/** The gc phase: artwork nothing shows any more goes (row and file); remote thumbnails and used artwork stay. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/harness.js';
import { scanContext } from '../../test/scan-context.js';
import { gcPhase } from './gc.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

function artwork(id: string, source: 'embedded' | 'file' | 'remote') {
  const path = `artwork/${id.slice(0, 2)}/${id}.jpg`;
  const abs = join(t.earshot.paths.cacheDir, path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, 'jpeg');
  t.sqlite
    .prepare('insert into artwork (id, path, mime, size, source, created_at) values (?, ?, ?, 4, ?, 0)')
    .run(id, path, 'image/jpeg', source);
  return abs;
}

describe('gc phase', () => {
  it('deletes unused embedded and folder artwork with its files; keeps remote and used artwork', async () => {
    const unusedEmbedded = artwork('aa'.repeat(32), 'embedded');
    const unusedFolder = artwork('bb'.repeat(32), 'file');
    const remote = artwork('cc'.repeat(32), 'remote');
    const used = artwork('dd'.repeat(32), 'embedded');
    t.sqlite
      .prepare("insert into tracks (id, title, artwork_id, added_at, updated_at) values ('t1', 'T', ?, 0, 0)")
      .run('dd'.repeat(32));
    await gcPhase(scanContext(t));
    const ids = t.sqlite.prepare('select id from artwork order by id').pluck().all();
    expect(ids).toEqual(['cc'.repeat(32), 'dd'.repeat(32)]);
    expect([unusedEmbedded, unusedFolder, remote, used].map((f) => existsSync(f))).toEqual([false, false, true, true]);
  });
});
