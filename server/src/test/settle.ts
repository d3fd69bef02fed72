/**
 * Files a test has just written, made to look settled to the scanner without waiting.
 *
 * The scanner defers a file modified less than SETTLE_MS (2 s) ago: it may still be being copied
 * in (scan/diff.ts; scanner.test and scan/diff.test check that it does). Tests that build a library
 * and scan it at once used to sleep 2.1 s first, once per engine and file — about 45 s of the
 * suite. Dating the files back by a few seconds is what that wait achieved, as the scanner sees it:
 * every mtime moves by the same amount, so their order and differences stay as they were.
 *
 * Meant for files no scan has seen yet (a library's first scan). A file rewritten after a scan and
 * dated back could, by chance, land on the mtime stored for its old content, and an equal size
 * would then hide the change; the tests that rewrite files mid-test keep their real waits.
 * (Folder images are also compared by ctime, which cannot be moved back: scan/walk.ts.)
 */
import { type Dirent, readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { SETTLE_MS } from '../library/scan/factory.js';

/** Past the settle time, with a margin for a scan that starts a moment later. */
const BACK_MS = SETTLE_MS + 1000;

/**
 * Dates every regular file under `root` back by BACK_MS. Symbolic links (and what they point to) are
 * left alone, and folders a test made unreadable are skipped, as the scanner skips them.
 */
export function settleFiles(root: string): void {
  const dirs = [root];
  for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) dirs.push(path);
      else if (entry.isFile()) {
        const st = statSync(path);
        utimesSync(path, st.atime, new Date(st.mtimeMs - BACK_MS));
      }
    }
  }
}
