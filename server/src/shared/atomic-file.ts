/**
 * Crash-safe file writes: write to a temp name in the same directory,
 * fsync, rename over the final name, fsync the directory. After `kill -9` a reader sees either the
 * old file or the complete new one, never a half-written file under the final name.
 *
 * @example await writeFileAtomic('/data/cache/artwork/ab/abcd.jpg', bytes);
 * @example const tmp = tempPathFor(final); …stream into tmp…; await commitFile(tmp, final);
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temp name beside `finalPath` (same filesystem, so rename is atomic); hidden and tagged `.part`. */
export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${randomBytes(4).toString('hex')}.part`);
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems (e.g. Android sdcardfs) refuse fsync on directories; the rename is still atomic.
  } finally {
    await handle.close();
  }
}

/** fsyncs `tmpPath`, renames it to `finalPath` and fsyncs the directory. */
export async function commitFile(tmpPath: string, finalPath: string): Promise<void> {
  const handle = await open(tmpPath, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmpPath, finalPath);
  await fsyncDir(dirname(finalPath));
}

export async function writeFileAtomic(finalPath: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(finalPath), { recursive: true });
  const tmp = tempPathFor(finalPath);
  try {
    const handle = await open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, finalPath);
    await fsyncDir(dirname(finalPath));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
