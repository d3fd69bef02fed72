import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio } from '../test/audio.js';
import type { ReadResult } from './tag-worker.js';
import { TagWorkerPool } from './worker-pool.js';

const dir = mkdtempSync(join(tmpdir(), 'earshot-pool-'));
const fifo = join(dir, 'hangs.mp3');
const songs = ['a', 'b', 'c', 'd', 'e'].map((n) => join(dir, `${n}.mp3`));

beforeAll(async () => {
  await Promise.all(
    songs.map((path, i) => makeAudio(path, { frequency: 800 + i * 10, tags: { title: `Song ${i}`, artist: 'Pool' } })),
  );
  // A named pipe nobody writes to: opening it blocks the reader's thread for good (a hung parser).
  execFileSync('mkfifo', [fifo]);
}, 60_000);

afterAll(() => {
  // Let the stuck reader's open() return so its thread can end.
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // no reader waiting any more
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('tag worker pool', () => {
  it('a file that hangs its reader is reported after the time budget; the jobs queued behind it are still read', async () => {
    // One worker, so the hanging file has jobs queued behind it in the same worker.
    const pool = new TagWorkerPool({ size: 1, separators: ['; '], timeoutMs: 1500 });
    try {
      const job = (id: number, abs: string, size: number) => pool.read({ id, abs, rel: abs, size, lrc: null });
      const results: Promise<ReadResult>[] = [job(0, songs[0], statSync(songs[0]).size), job(1, fifo, 4096)];
      for (const [i, path] of songs.slice(1).entries()) results.push(job(i + 2, path, statSync(path).size));
      const done = await Promise.all(results);
      expect(done[0]).toMatchObject({ ok: true });
      expect(done[1]).toMatchObject({ ok: false, reason: expect.stringMatching(/timed out/) });
      for (const r of done.slice(2)) expect(r).toMatchObject({ ok: true });
      expect(done.slice(2).map((r) => (r.ok ? r.tags.title : null))).toEqual(['Song 1', 'Song 2', 'Song 3', 'Song 4']);
      expect(pool.pending).toBe(0);
    } finally {
      await pool.close();
    }
  });
});
