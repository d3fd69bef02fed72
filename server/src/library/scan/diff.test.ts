/** The diff phase: new, changed, unchanged and missing files; scoped to folders; deferred and unreadable files. */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio } from '../../test/audio.js';
import { forEachEngine } from '../../test/engines.js';
import { type LibraryTestServer, startLibraryServer } from '../../test/library-server.js';
import { scanContext } from '../../test/scan-context.js';
import { diffPhase } from './diff.js';
import { walkPhase } from './walk.js';
import { settleFiles } from '../../test/settle.js';

let t: LibraryTestServer;
let music: string;

/** The local tracks' ids by path, straight from the database. */
async function idsByPath(): Promise<Map<string, string>> {
  const rows = await t.earshot.database.db
    .selectFrom('tracks')
    .select(['id', 'local_path'])
    .where('source_type', '=', 'local')
    .execute();
  return new Map(rows.map((r) => [r.local_path as string, r.id]));
}

async function diff(options: Parameters<typeof scanContext>[1] = {}) {
  const ctx = scanContext(t, options);
  await walkPhase(ctx);
  await diffPhase(ctx);
  return ctx;
}

forEachEngine((engine) => {
  beforeAll(async () => {
    t = await startLibraryServer(engine);
    music = t.config.musicDir;
    let f = 500;
    await Promise.all(
      ['A/1.mp3', 'A/2.mp3', 'B/3.mp3'].map((rel) =>
        makeAudio(join(music, rel), { frequency: f++, seconds: 1, tags: { title: rel } }),
      ),
    );
    writeFileSync(join(music, 'B/bad.mp3'), 'not music at all');
    settleFiles(music); // dated back: the scanner reads files once settled (test/settle.ts)
    await t.earshot.library.service.runScan({ trigger: 'test' });
  }, 120_000);

  afterAll(() => t?.close());

  describe('diff phase', () => {
    it('an unchanged library needs nothing read; an unreadable file waits until it changes; a full scan reads all', async () => {
      const incremental = await diff();
      expect(incremental.diff.toRead).toEqual([]);
      expect([...incremental.diff.known.keys()].sort()).toEqual(['A/1.mp3', 'A/2.mp3', 'B/3.mp3']);
      expect(incremental.diff.missing.size).toBe(0);
      expect(incremental.diff.ids.size).toBe(0); // nothing to update: no ids read
      const full = await diff({ full: true });
      expect(full.diff.toRead.map((f) => f.rel).sort()).toEqual(['A/1.mp3', 'A/2.mp3', 'B/3.mp3', 'B/bad.mp3']);
      expect(full.progress.filesTotal).toBe(4);
      // The tracks a full scan rewrites keep their ids (the file that was never read has none).
      const ids = await idsByPath();
      expect([...full.diff.ids].sort()).toEqual([...ids].sort());
      expect(ids.size).toBe(3);
    });

    it('a folder-scoped diff compares only the tracks inside its folders', async () => {
      rmSync(join(music, 'A/2.mp3'));
      rmSync(join(music, 'B/3.mp3'));
      const scoped = await diff({ folders: ['A'] });
      expect([...scoped.diff.known.keys()].sort()).toEqual(['A/1.mp3', 'A/2.mp3']);
      expect([...scoped.diff.missing.keys()]).toEqual(['A/2.mp3']); // B/3.mp3 is not this scan's business
      const all = await diff();
      expect([...all.diff.missing.keys()].sort()).toEqual(['A/2.mp3', 'B/3.mp3']);
      // Missing tracks carry their ids (the prune phase deletes by id, the read phase finds moves).
      const ids = await idsByPath();
      for (const [path, t] of all.diff.missing) expect(t.id).toBe(ids.get(path));
    });

    it('a file modified moments ago is deferred (still being copied in)', async () => {
      writeFileSync(join(music, 'A/fresh.mp3'), 'partial');
      const ctx = await diff();
      expect(ctx.diff.toRead.map((f) => f.rel)).not.toContain('A/fresh.mp3');
      expect(ctx.progress.deferred).toBe(1);
    });
  });
});
