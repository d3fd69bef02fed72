import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { metadataFile } from './realistic.js';

/**
 * Fixtures are made on a fresh machine's first run, many at once: two files with the same tags
 * each write an ffmetadata file and remove it when their ffmpeg ends. With a name derived from the
 * tags, the first to finish removed the other's before its ffmpeg opened it (CI on a new machine:
 * "meta-….txt: No such file or directory").
 */
it('gives two fixtures with the same tags their own metadata files', async () => {
  const tags = { title: 'Same Title', artist: 'Same Artist' };
  const [a, b] = await Promise.all([metadataFile(tags), metadataFile(tags)]);
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
