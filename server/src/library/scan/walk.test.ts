/** The walk phase: the whole music folder or only some folders, never through a symlinked folder. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkLibrary } from './walk.js';

const root = mkdtempSync(join(tmpdir(), 'earshot-walk-'));
const music = join(root, 'music');
const rels = (r: { files: { rel: string }[] }) => r.files.map((f) => f.rel).sort();

beforeAll(() => {
  for (const dir of ['A/one', 'A/two', 'B', 'C']) mkdirSync(join(music, dir), { recursive: true });
  mkdirSync(join(root, 'outside'), { recursive: true });
  for (const f of ['A/one/1.mp3', 'A/two/2.ogg', 'B/3.flac', 'C/4.opus', 'top.mp3', 'B/notes.txt'])
    writeFileSync(join(music, f), 'x');
  writeFileSync(join(music, 'A/one/1.lrc'), '[00:01.00]x');
  writeFileSync(join(music, 'B/Album.JPG'), 'img');
  writeFileSync(join(music, 'B/front.png'), 'img');
  writeFileSync(join(music, 'C/AlbumCover.webp'), 'img');
  writeFileSync(join(root, 'outside/5.mp3'), 'x');
  symlinkSync(join(root, 'outside'), join(music, 'Linked'));
  symlinkSync(join(music, 'B'), join(music, 'A/alias'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('walk phase', () => {
  it('lists audio files with sidecars and the preferred folder image; never follows symlinked folders', async () => {
    const all = await walkLibrary(music);
    expect(rels(all)).toEqual(['A/one/1.mp3', 'A/two/2.ogg', 'B/3.flac', 'C/4.opus', 'top.mp3']);
    expect(all.files.find((f) => f.rel === 'A/one/1.mp3')?.lrc).toBe(join(music, 'A/one/1.lrc'));
    expect(all.folderArt.get('B')).toBe(join(music, 'B/front.png')); // front before album
    expect(all.folderArt.get('C')).toBe(join(music, 'C/AlbumCover.webp'));
    expect(all.skipped.map((s) => s.rel).sort()).toEqual(['A/alias', 'Linked']);
  });

  it('a folder-scoped walk lists only its folders (recursively); gone and symlinked folders are not walked', async () => {
    expect(rels(await walkLibrary(music, undefined, ['A']))).toEqual(['A/one/1.mp3', 'A/two/2.ogg']);
    expect(rels(await walkLibrary(music, undefined, ['A/two', 'C']))).toEqual(['A/two/2.ogg', 'C/4.opus']);
    const gone = await walkLibrary(music, undefined, ['Nope', 'B']);
    expect(rels(gone)).toEqual(['B/3.flac']);
    const linked = await walkLibrary(music, undefined, ['Linked', 'A/alias']);
    expect(linked.files).toEqual([]);
    expect(linked.skipped.map((s) => s.reason)).toEqual([
      'symlinked folder (not followed)',
      'symlinked folder (not followed)',
    ]);
    expect(rels(await walkLibrary(music, undefined, ['']))).toHaveLength(5);
  });

  it('stops when the scan is stopped', async () => {
    const abort = new AbortController();
    abort.abort(new Error('stopped'));
    await expect(walkLibrary(music, abort.signal)).rejects.toThrow('stopped');
  });
});
