/** The artwork phase: each image stored once per scan however many batches show it; folder image changes found. */
import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../shared/ids.js';
import { makeAudio, makeImage } from '../../test/audio.js';
import { forEachEngine } from '../../test/engines.js';
import { type LibraryTestServer, startLibraryServer } from '../../test/library-server.js';
import { scanContext } from '../../test/scan-context.js';
import type { ReadResult } from '../tag-worker.js';
import { ArtworkInFlight, changedFolderImages, storeBatchArtwork } from './artwork.js';
import { walkPhase } from './walk.js';
import { settleFiles } from '../../test/settle.js';

let t: LibraryTestServer;
let music: string;

forEachEngine((engine) => {
  beforeAll(async () => {
    t = await startLibraryServer(engine);
    music = t.config.musicDir;
    await makeAudio(join(music, 'Album/01.mp3'), { frequency: 900, seconds: 1, tags: { title: 'One' } });
    await makeAudio(join(music, 'Album/02.mp3'), { frequency: 910, seconds: 1, tags: { title: 'Two' } });
    await makeImage(join(music, 'Album/Folder.jpg'), { color: 'orange', width: 16, height: 16 });
    settleFiles(music); // dated back: the scanner reads files once settled (test/settle.ts)
  }, 60_000);

  afterAll(() => t?.close());

  describe('artwork phase', () => {
    it('stores a folder image and an embedded picture once for all the batches that show them', async () => {
      const ctx = scanContext(t);
      await walkPhase(ctx);
      ctx.repo.loadCaches();
      const picture = readFileSync(join(music, 'Album/Folder.jpg')); // the same bytes, embedded
      const hash = sha256(picture);
      const result = (id: number): ReadResult => ({
        id,
        ok: true,
        fingerprint: `f${id}`,
        tags: {} as never, // not looked at by this phase
        picture: { hash, mime: 'image/jpeg', data: id === 0 ? new Uint8Array(picture) : undefined },
      });
      const [one, two] = ctx.walked.files;
      const art = new ArtworkInFlight();
      const first = storeBatchArtwork(ctx, [{ file: one, result: result(0) }], art);
      const second = storeBatchArtwork(ctx, [{ file: two, result: result(1) }], art);
      const [a, b] = await Promise.all([first, second]);
      expect(art.folders.size).toBe(1);
      expect(art.embedded.size).toBe(1);
      expect(a.folderIds.get('Album')).toBe(hash);
      expect(b.folderIds.get('Album')).toBe(hash);
      expect([...a.rows.keys()]).toEqual([hash]);
    });

    it('finds folders whose image changed since the last whole-library scan', async () => {
      expect(await t.earshot.library.service.runScan({ trigger: 'test' })).toMatchObject({ added: 2, deferred: 0 });
      const ctx = scanContext(t);
      await walkPhase(ctx);
      expect(await changedFolderImages(ctx, ctx.walked)).toEqual(new Set()); // the tracks already show it
      await makeImage(join(music, 'Album/Folder.jpg'), { color: 'navy', width: 16, height: 16 });
      const later = (Date.now() + 5000) / 1000;
      utimesSync(join(music, 'Album/Folder.jpg'), later, later);
      const again = scanContext(t);
      await walkPhase(again);
      expect(await changedFolderImages(again, again.walked)).toEqual(new Set(['Album']));
    });
  });
});
