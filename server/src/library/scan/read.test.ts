/** The read phase: new files become tracks, unreadable ones are recorded, a moved file keeps its id. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio } from '../../test/audio.js';
import { forEachEngine } from '../../test/engines.js';
import { type LibraryTestServer, startLibraryServer } from '../../test/library-server.js';
import { scanContext } from '../../test/scan-context.js';
import { scanId } from '../library.repository.js';
import { diffPhase } from './diff.js';
import { deferStampIndex, readPhase } from './read.js';
import { walkPhase } from './walk.js';
import { settleFiles } from '../../test/settle.js';

let t: LibraryTestServer;
let music: string;
const db = () => t.earshot.database.db;

async function read() {
  const ctx = scanContext(t);
  await walkPhase(ctx);
  await diffPhase(ctx);
  await readPhase(ctx);
  ctx.repo.clearCaches();
  return ctx;
}

forEachEngine((engine) => {
  beforeAll(async () => {
    t = await startLibraryServer(engine);
    music = t.config.musicDir;
    await makeAudio(join(music, 'R/song.ogg'), {
      frequency: 800,
      seconds: 1,
      tags: { title: 'Read Me', artist: 'Reader', album: 'Pages' },
    });
    await makeAudio(join(music, 'R/other.opus'), { frequency: 810, seconds: 1, tags: { title: 'Other' } });
    writeFileSync(join(music, 'R/broken.flac'), 'fLaC but not really');
    settleFiles(music); // dated back: the scanner reads files once settled (test/settle.ts)
  }, 60_000);

  afterAll(() => t?.close());

  describe('read phase', () => {
    it('writes every readable file as a track with its tags and records the unreadable ones', async () => {
      const ctx = await read();
      expect(ctx.progress).toMatchObject({ filesTotal: 3, filesDone: 3, added: 2, unreadable: 1 });
      expect(ctx.phaseMs.write).toBeGreaterThanOrEqual(0);
      const row = await db()
        .selectFrom('tracks')
        .selectAll()
        .where('local_path', '=', 'R/song.ogg')
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({ title: 'Read Me', artist: 'Reader', album: 'Pages', format: 'ogg' });
      const errors = await db().selectFrom('scan_errors').select('local_path').execute();
      expect(errors).toEqual([{ local_path: 'R/broken.flac' }]);
      // Read again: nothing new to read.
      expect((await read()).progress.filesTotal).toBe(0);
    });

    it('a file moved to another folder keeps its id (same content)', async () => {
      const before = await db()
        .selectFrom('tracks')
        .select('id')
        .where('local_path', '=', 'R/other.opus')
        .executeTakeFirstOrThrow();
      mkdirSync(join(music, 'S'));
      renameSync(join(music, 'R/other.opus'), join(music, 'S/renamed.opus'));
      const ctx = await read();
      expect(ctx.progress).toMatchObject({ moved: 1, added: 0 });
      expect(ctx.diff.missing.size).toBe(0); // taken by the move: nothing for prune to delete
      const after = await db()
        .selectFrom('tracks')
        .select('id')
        .where('local_path', '=', 'S/renamed.opus')
        .executeTakeFirstOrThrow();
      expect(after.id).toBe(before.id);
    });
  });
});

describe('the stamp index during a large write', () => {
  it('is dropped and built after for 1,000 files or more that are at least a tenth of the library', () => {
    expect(deferStampIndex(20_000, 0)).toBe(true); // first scan of a large library
    expect(deferStampIndex(50_050, 50_050)).toBe(true); // --full: every file is written again
    expect(deferStampIndex(999, 0)).toBe(false); // small: the DDL is not worth it
    expect(deferStampIndex(2_000, 50_000)).toBe(false); // the build (whole library) would cost more
    expect(deferStampIndex(6_000, 50_000)).toBe(true);
  });
});

describe('scan ids', () => {
  it("have newId's format, are unique and sort in the order they were made", () => {
    const ids: string[] = [];
    const start = Date.now();
    // Across at least two milliseconds (a busy loop, not a timer): the time prefix must move on.
    while (Date.now() - start < 3 || ids.length < 10_000) ids.push(scanId());
    for (const id of ids) expect(id).toMatch(/^[0-9A-Za-z]{22}$/);
    expect(new Set(ids).size).toBe(ids.length);
    const prefixes = ids.map((id) => id.slice(0, 8));
    expect(new Set(prefixes).size).toBeGreaterThan(1);
    // Byte order (SQLite's BINARY collation) follows creation order, millisecond by millisecond.
    const sorted = [...prefixes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(sorted).toEqual(prefixes);
  });
});
