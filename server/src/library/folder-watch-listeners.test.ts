import { type FSWatcher, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { folderHandles, type HandleKind } from './folder-handles.js';
import { InotifyFolders } from './folder-watch.js';

/**
 * The inotify source's shared callbacks (issue 16, idle RSS), with both kinds of watch
 * (folder-handles.ts): every watch is served by the same functions, which find their folder on
 * the watch that called them, so each event must still reach the folder it happened in — across
 * a wide tree, and after a folder is removed and made again.
 */
let root = '';
let source: InotifyFolders | null = null;

afterEach(() => {
  source?.close();
  source = null;
  rmSync(root, { recursive: true, force: true });
});

/** Starts a source on `root`; `until(check)` resolves with the folders reported since `clear()` once `check` holds. */
async function watchRoot(handles: HandleKind) {
  const seen = new Set<string>();
  const waiters: { check: (seen: Set<string>) => boolean; resolve: (seen: Set<string>) => void }[] = [];
  source = new InotifyFolders({
    root,
    handles,
    changed: (folder) => {
      seen.add(folder);
      for (const w of waiters.splice(0)) {
        if (w.check(seen)) w.resolve(new Set(seen));
        else waiters.push(w);
      }
    },
    warn: (err) => {
      throw err;
    },
  });
  await source.start();
  return {
    source,
    until: (check: (seen: Set<string>) => boolean) =>
      new Promise<Set<string>>((resolve) => waiters.push({ check, resolve })),
    clear: () => seen.clear(),
  };
}

const watchesOf = (s: InotifyFolders) => [...(s as unknown as { watches: Map<string, object> }).watches.values()];

for (const kind of ['fs-event', 'fs.watch'] as const) {
  describe(`watches made with ${kind}`, () => {
    it('serves every folder with the same callbacks', async () => {
      root = mkdtempSync(join(tmpdir(), 'earshot-listeners-'));
      for (let a = 0; a < 8; a++)
        for (let b = 0; b < 8; b++) mkdirSync(join(root, `A${a}`, `B${b}`), { recursive: true });
      const { source } = await watchRoot(kind);
      expect(source.kind).toBe(kind);
      const watches = watchesOf(source);
      expect(watches).toHaveLength(1 + 8 + 64);
      if (kind === 'fs.watch') {
        const emitters = watches as FSWatcher[];
        expect(new Set(emitters.flatMap((w) => w.listeners('change'))).size).toBe(1);
        expect(new Set(emitters.flatMap((w) => w.listeners('error'))).size).toBe(1);
        expect(emitters.every((w) => w.listenerCount('change') === 1 && w.listenerCount('error') === 1)).toBe(true);
      } else {
        // Node's own handle, no FSWatcher around it: one `onchange` for all of them.
        const callbacks = new Set(watches.map((w) => (w as unknown as { onchange: unknown }).onchange));
        expect(callbacks.size).toBe(1);
        expect(typeof [...callbacks][0]).toBe('function');
      }
    });

    it('fails to watch a missing folder with the error fs.watch gives (the caller reads its code)', () => {
      root = mkdtempSync(join(tmpdir(), 'earshot-listeners-'));
      const handles = folderHandles({ event: () => {}, error: () => {} }, kind);
      const missing = join(root, 'gone');
      expect(() => handles.open(missing, 'gone')).toThrow(
        expect.objectContaining({ code: 'ENOENT', syscall: 'watch' }),
      );
      // An existing folder opens and closes.
      handles.open(root, '').close();
    });

    it('reports each change as the folder it happened in, across a wide tree', async () => {
      root = mkdtempSync(join(tmpdir(), 'earshot-listeners-'));
      const folders: string[] = [];
      for (let a = 0; a < 6; a++)
        for (let b = 0; b < 6; b++) {
          const folder = join(`Artist ${a}`, `Album ${b}`);
          mkdirSync(join(root, folder), { recursive: true });
          writeFileSync(join(root, folder, 'track.mp3'), 'x');
          folders.push(folder);
        }
      const { until, clear } = await watchRoot(kind);
      // One at a time, in an order unlike the listing's; a removed file is one event in its folder
      // only, so each round's reports must be exactly that folder.
      for (const folder of [...folders].reverse().filter((_, i) => i % 5 === 0)) {
        clear();
        const got = until((s) => s.has(folder));
        rmSync(join(root, folder, 'track.mp3'));
        expect([...(await got)]).toEqual([folder]);
      }
    });

    it('keeps reporting a folder that was removed and made again under the same name', async () => {
      root = mkdtempSync(join(tmpdir(), 'earshot-listeners-'));
      const album = join('Artist', 'Album');
      mkdirSync(join(root, album), { recursive: true });
      const { source, until, clear } = await watchRoot(kind);
      const first = watchesOf(source).length;

      // The parent reports the removal, and the removed folder itself (its files are gone); its
      // watch is closed.
      const removed = until((s) => s.has('Artist') && s.has(album) && watchesOf(source).length === first - 1);
      rmSync(join(root, album), { recursive: true });
      await removed;

      clear();
      const added = until((s) => s.has('Artist') && s.has(album) && watchesOf(source).length === first);
      mkdirSync(join(root, album));
      await added;

      // The new watch, not the closed one, answers for the folder now.
      clear();
      const changed = until((s) => s.has(album));
      writeFileSync(join(root, album, '01.flac'), 'f');
      expect([...(await changed)]).toEqual([album]);
    });
  });
}
