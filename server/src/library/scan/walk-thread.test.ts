/** The whole-library walk shared with threads gives exactly the inline walk's result. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindingThrows, newStat, publicRawFs, rawFs } from './raw-fs.js';
import { type WalkResult, walkLibrary } from './walk.js';
import { packWalk, unpackWalk, walkShared } from './walk-thread.js';

const root = mkdtempSync(join(tmpdir(), 'earshot-walk-thread-'));
const music = join(root, 'music');

/** A result in a comparable form: the files sorted by path (the shared walk's order differs). */
function canonical(w: WalkResult) {
  return {
    files: [...w.files].sort((a, b) => (a.rel < b.rel ? -1 : 1)),
    folderArt: [...w.folderArt].sort(),
    dirChanged: [...w.dirChanged].sort(),
    skipped: [...w.skipped].sort((a, b) => (a.rel < b.rel ? -1 : 1)),
  };
}

beforeAll(() => {
  mkdirSync(join(root, 'outside'), { recursive: true });
  writeFileSync(join(root, 'outside/escape.mp3'), 'x');
  // 40 artists (more than the walk shares out at one level), two albums each, one with discs.
  for (let a = 0; a < 40; a++) {
    for (const album of ['First (2001)', 'Second/CD1', 'Second/CD2']) {
      const dir = join(music, `Artist ${a}`, album);
      mkdirSync(dir, { recursive: true });
      for (let t = 1; t <= 3; t++)
        writeFileSync(join(dir, `0${t} - Song ${t}.${t === 2 ? 'flac' : 'mp3'}`), `x${a}${t}`);
      if (a % 3 === 0) writeFileSync(join(dir, '01 - Song 1.lrc'), '[00:01.00]x');
      if (a % 4 === 0) writeFileSync(join(dir, 'cover.jpg'), 'img');
      if (a % 4 === 1) writeFileSync(join(dir, 'Folder.PNG'), 'img');
      if (a % 5 === 0) writeFileSync(join(dir, '.hidden.mp3'), 'x');
      writeFileSync(join(dir, 'notes.txt'), 'x');
    }
  }
  mkdirSync(join(music, '.Trash/old'), { recursive: true });
  writeFileSync(join(music, '.Trash/old/gone.mp3'), 'x');
  writeFileSync(join(music, 'loose.ogg'), 'x');
  writeFileSync(join(music, 'front.jpg'), 'img');
  symlinkSync(join(root, 'outside'), join(music, 'Linked folder'));
  symlinkSync(join(root, 'outside/escape.mp3'), join(music, 'Artist 1/escape.mp3'));
  symlinkSync(join(music, 'Artist 2/First (2001)/01 - Song 1.mp3'), join(music, 'Artist 3/alias.mp3'));
  symlinkSync(join(music, 'Artist 4'), join(music, 'Artist 5/alias folder'));
  symlinkSync(join(root, 'nowhere.mp3'), join(music, 'Artist 6/broken.mp3'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('shared walk', () => {
  it('gives the inline walk’s files, sidecars, folder images, change times and skips, with threads or without', async () => {
    const inline = await walkLibrary(music);
    expect(inline.files).toHaveLength(40 * 9 + 2); // + loose.ogg and the symlink inside the root
    for (const [threads, mainWalks] of [
      [1, false],
      [2, false],
      [1, true],
      [0, true],
    ] as const) {
      let besides = 0;
      const stats = { byThreads: 0 };
      const shared = await walkShared(music, undefined, async () => void besides++, { threads, mainWalks, stats });
      expect(besides).toBe(1);
      expect(canonical(shared)).toEqual(canonical(inline));
      // Without this thread, every folder was walked by the threads (none again here).
      if (!mainWalks) expect(stats.byThreads).toBe(40); // the artists (hidden and symlinked folders are not shared)
    }
  });

  it('shares folders below a root with few of them', async () => {
    const inline = await walkLibrary(join(music, 'Artist 7'));
    const shared = await walkShared(join(music, 'Artist 7'), undefined, async () => {}, {
      threads: 1,
      mainWalks: false,
    });
    expect(canonical(shared)).toEqual(canonical(inline));
    expect(shared.files).toHaveLength(9);
  });

  it('runs `beside` when there is nothing to share, and stops with the scan', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    let ran = 0;
    expect((await walkShared(empty, undefined, async () => void ran++, { threads: 1 })).files).toEqual([]);
    expect(ran).toBe(1);
    const stop = new AbortController();
    await expect(
      walkShared(music, stop.signal, async () => stop.abort(new Error('stopped')), { threads: 1 }),
    ).rejects.toThrow('stopped');
  });

  it('packs and unpacks a walk exactly', async () => {
    const inline = await walkLibrary(music);
    const again = unpackWalk(structuredClone(packWalk(inline)));
    expect(again).toEqual(inline);
    const none = unpackWalk(
      structuredClone(packWalk({ files: [], folderArt: new Map(), dirChanged: new Map(), skipped: [] })),
    );
    expect(none.files).toEqual([]);
  });
});

describe('raw fs calls', () => {
  it('the binding is used only on a Node whose binding throws its own errors (no C++ check to stop the process)', () => {
    expect(bindingThrows('20.20.2')).toBe(true);
    expect(bindingThrows('24.1.0')).toBe(true);
    expect(bindingThrows('22.0.0')).toBe(true);
    expect(bindingThrows('20.11.1')).toBe(false); // the oldest the engines field allows
    expect(bindingThrows('21.7.3')).toBe(false);
  });

  it('list and stat as the public API does (files, folders, symlinks, missing paths)', () => {
    const dir = join(music, 'Artist 3');
    const fast = rawFs(music);
    expect(fast).not.toBe(publicRawFs); // this Node's binding passed the check
    expect(fast.list(dir)).toEqual(publicRawFs.list(dir));
    for (const p of [dir, join(dir, 'alias.mp3'), join(dir, 'First (2001)/02 - Song 2.flac'), join(dir, 'nope.mp3')]) {
      const a = newStat();
      const b = newStat();
      expect(fast.stat(p, a)).toBe(publicRawFs.stat(p, b));
      expect(a).toEqual(b);
    }
    expect(() => fast.list(join(dir, 'nope'))).toThrow(/ENOENT/);
  });
});
