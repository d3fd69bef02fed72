import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

/**
 * Fixtures are made into a cache on a machine's first run, many at once. Here with an empty cache
 * of this file's own (the module reads the temp folder when it loads), as on a fresh machine.
 */
const cacheRoot = mkdtempSync(join(tmpdir(), 'earshot-realistic-cache-'));
process.env.TMPDIR = cacheRoot;
const realistic = await import('./realistic.js');
delete process.env.TMPDIR;
afterAll(() => rmSync(cacheRoot, { recursive: true, force: true }));

it('makes its fixtures in a cache of its own here (an empty one)', () => {
  expect(realistic.FIXTURE_CACHE).toBe(join(cacheRoot, 'earshot-realistic-fixtures'));
  expect(existsSync(realistic.FIXTURE_CACHE)).toBe(false);
});

/**
 * Two files with the same tags each write an ffmetadata file and remove it when their ffmpeg ends.
 * Named after the tags, the first to finish removed the other's before its ffmpeg opened it (CI on
 * a new machine: "meta-….txt: No such file or directory").
 */
it('gives two fixtures with the same tags their own metadata files', async () => {
  const tags = { title: 'Same Title', artist: 'Same Artist' };
  const [a, b] = await Promise.all([realistic.metadataFile(tags), realistic.metadataFile(tags)]);
  try {
    expect(a).not.toBe(b);
    await rm(a);
    expect(existsSync(b)).toBe(true);
    expect(await readFile(b, 'utf8')).toBe(';FFMETADATA1\ntitle=Same Title\nartist=Same Artist\n');
  } finally {
    await rm(a, { force: true });
    await rm(b, { force: true });
  }
});

/**
 * Three files with embedded covers at once, the cover not yet made: each maker needs the cover's
 * ffmpeg run first. When the two-at-a-time limit held whole makers, two of them waited for the
 * cover forever (engines.test's set-up hung for 15 minutes on a fresh machine).
 */
it('makes several files that need the same not-yet-made cover at once', { timeout: 60_000 }, async () => {
  const tags = { title: 'Cover Wait', artist: 'Fresh Machine' };
  const files = await Promise.all(
    (['flac', 'mp3-cbr', 'opus'] as const).map((kind) =>
      realistic.realisticFile(kind, { seconds: 2, tags, cover: 'small' }),
    ),
  );
  expect(new Set(files).size).toBe(3);
  for (const file of files) expect(file.startsWith(realistic.FIXTURE_CACHE)).toBe(true);
  for (const file of files) expect(existsSync(file)).toBe(true);
});

/**
 * Two makings of the same fixture differ (the noise is random). Parallel test files make the same
 * one on a fresh machine; when the last one in replaced the file, realistic.test's PostgreSQL half
 * scanned other bytes than its SQLite half had, and their catalogs differed in content hashes.
 */
it('keeps the first making of a fixture: a file once returned never changes', { timeout: 60_000 }, async () => {
  const seen: string[] = [];
  const sha = async (path: string) =>
    createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  const same = { seconds: 1, frequency: 777, tags: { title: 'Made Three Times' } };
  const paths = await Promise.all(
    [1, 2, 3].map(async () => {
      const path = await realistic.realisticFile('wav', same);
      seen.push(await sha(path)); // what a test scanning it now would read
      return path;
    }),
  );
  expect(new Set(paths).size).toBe(1);
  expect(seen).toEqual([seen[0], seen[0], seen[0]]);
  expect(await sha(paths[0])).toBe(seen[0]);
});
