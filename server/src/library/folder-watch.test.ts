import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LibraryWatcher } from './watcher.js';

/**
 * The watcher on its own (no scanner): which folders each debounced rescan is given, with
 * inotify on each folder and with the polling walk. The scans themselves are covered by
 * watcher.test.ts and background.test.ts.
 */
let root = '';
let watcher: LibraryWatcher | null = null;
const cleanup: string[] = [];

afterEach(async () => {
  await watcher?.stop();
  watcher = null;
  for (const dir of [root, ...cleanup.splice(0)]) rmSync(dir, { recursive: true, force: true });
});

const album = join('Artist', 'Album');

/** A watcher on a fresh tree; `until(check)` resolves with every folder reported so far once `check` holds. */
async function watchTree(polling: boolean) {
  root = mkdtempSync(join(tmpdir(), 'earshot-folders-'));
  mkdirSync(join(root, album), { recursive: true });
  mkdirSync(join(root, 'Other'));
  mkdirSync(join(root, '.hidden'));
  writeFileSync(join(root, album, '01.mp3'), 'a');
  const seen = new Set<string>();
  const waiters: { check: (seen: Set<string>) => boolean; resolve: (seen: Set<string>) => void }[] = [];
  watcher = new LibraryWatcher({
    musicDir: root,
    polling,
    pollIntervalMs: 50,
    debounceMs: 100,
    logger: pino({ level: 'silent' }),
    rescan: async (folders) => {
      for (const f of folders) seen.add(f);
      for (const w of waiters.splice(0)) {
        if (w.check(seen)) w.resolve(new Set(seen));
        else waiters.push(w);
      }
    },
  });
  await watcher.start();
  return {
    until: (check: (seen: Set<string>) => boolean) =>
      new Promise<Set<string>>((resolve) => waiters.push({ check, resolve })),
    clear: () => seen.clear(),
  };
}

for (const polling of [false, true]) {
  describe(polling ? 'polling watcher' : 'inotify watcher', () => {
    it('reports the folder a file changed in, not the others', async () => {
      const { until } = await watchTree(polling);
      const got = until((s) => s.size > 0);
      writeFileSync(join(root, album, '01.mp3'), 'changed');
      expect([...(await got)]).toEqual([album]);
    });

    it('ignores hidden entries, lists a folder tree moved in, and watches inside it', async () => {
      const { until, clear } = await watchTree(polling);
      // Hidden first: events arrive in order, so a reported hidden change would be seen below.
      writeFileSync(join(root, '.hidden', 'x.mp3'), 'x');
      writeFileSync(join(root, 'Other', '.partial.mp3'), 'x');
      const staged = mkdtempSync(join(tmpdir(), 'earshot-staged-'));
      cleanup.push(staged);
      mkdirSync(join(staged, 'CD 1'));
      writeFileSync(join(staged, 'CD 1', '01.flac'), 'f');
      const target = join(root, 'Artist', 'New Album');
      const cd = join('Artist', 'New Album', 'CD 1');
      const got = until((s) => s.has(cd));
      // Moved in whole, as a file manager or `mv` does: the watcher must list it itself.
      renameSync(staged, target);
      const seen = await got;
      expect(seen.has('Artist')).toBe(true);
      expect(seen.has(join('Artist', 'New Album'))).toBe(true);
      expect(seen.has('.hidden')).toBe(false);
      expect(seen.has('Other')).toBe(false);

      // Files added inside the new folder later are seen too (its watch is live).
      clear();
      const later = until((s) => s.has(cd));
      writeFileSync(join(target, 'CD 1', '02.flac'), 'g');
      expect([...(await later)]).toEqual([cd]);
    });

    it('reports a removed folder with the folders below it', async () => {
      const { until, clear } = await watchTree(polling);
      mkdirSync(join(root, album, 'Scans'));
      const created = until((s) => s.has(join(album, 'Scans')));
      await created;
      clear();
      const got = until((s) => s.has('Artist') && s.has(album));
      rmSync(join(root, 'Artist'), { recursive: true });
      const seen = await got;
      expect(seen.has(join(album, 'Scans'))).toBe(true);
      expect(seen.has('Other')).toBe(false);
    });
  });
}
