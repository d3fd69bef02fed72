/** The prune phase: missing tracks go (and the other areas hear of it), except under an empty music folder. */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio } from '../../test/audio.js';
import { forEachEngine } from '../../test/engines.js';
import { type LibraryTestServer, startLibraryServer } from '../../test/library-server.js';
import { scanContext } from '../../test/scan-context.js';
import { diffPhase } from './diff.js';
import { prunePhase } from './prune.js';
import { walkPhase } from './walk.js';
import { settleFiles } from '../../test/settle.js';

let t: LibraryTestServer;
let music: string;
const titles = async () =>
  (await t.earshot.database.db.selectFrom('tracks').select('title').orderBy('title').execute()).map((r) => r.title);

async function prune(options: Parameters<typeof scanContext>[1] = {}) {
  const ctx = scanContext(t, options);
  await walkPhase(ctx);
  await diffPhase(ctx);
  await prunePhase(ctx);
  return ctx;
}

forEachEngine((engine) => {
  beforeAll(async () => {
    t = await startLibraryServer(engine);
    music = t.config.musicDir;
    let f = 700;
    await Promise.all(
      ['A/one.mp3', 'A/two.mp3', 'B/three.mp3'].map((rel) =>
        makeAudio(join(music, rel), { frequency: f++, seconds: 1, tags: { title: rel.slice(2, -4) } }),
      ),
    );
    mkdirSync(join(music, 'C'));
    writeFileSync(join(music, 'C/bad.mp3'), 'not music');
    settleFiles(music); // dated back: the scanner reads files once settled (test/settle.ts)
    await t.earshot.library.service.runScan({ trigger: 'test' });
  }, 120_000);

  afterAll(() => t?.close());

  describe('prune phase', () => {
    it('deletes missing tracks, tells the other areas, and drops errors of files that are gone', async () => {
      const removed: string[][] = [];
      const off = t.earshot.events.on('library.tracksRemoved', (e) => removed.push(e.trackIds));
      const two = await t.earshot.database.db
        .selectFrom('tracks')
        .select('id')
        .where('title', '=', 'two')
        .executeTakeFirstOrThrow();
      rmSync(join(music, 'A/two.mp3'));
      rmSync(join(music, 'C/bad.mp3'));
      rmSync(join(music, 'B/three.mp3'));
      // Scoped to A: B's missing track stays until B is scanned.
      const ctx = await prune({ folders: ['A', 'C'] });
      off();
      expect(ctx.progress.removed).toBe(1);
      expect(removed).toEqual([[two.id]]);
      expect(await titles()).toEqual(['one', 'three']);
      expect(await t.earshot.database.db.selectFrom('scan_errors').select('local_path').execute()).toEqual([]);
    });

    it('an entirely empty music folder (an unmounted share) prunes nothing', async () => {
      const aside = `${music}-aside`;
      renameSync(music, aside);
      mkdirSync(music);
      try {
        expect(readdirSync(music)).toEqual([]);
        const ctx = await prune();
        expect(ctx.progress.removed).toBe(0);
        expect(await titles()).toEqual(['one', 'three']);
      } finally {
        rmSync(music, { recursive: true });
        renameSync(aside, music);
      }
      expect((await prune()).progress.removed).toBe(1); // B/three.mp3, once the folder is back
    });
  });
});
