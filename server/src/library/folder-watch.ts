/**
 * Where the watcher's events come from: one inotify watch per FOLDER (Node's watch handle on each
 * directory, folder-handles.ts), or a polling walk that keeps one signature per folder. Both report which folders
 * changed (relative to the music root, '' for the root itself) and keep nothing per file: a
 * 50,000-file library costs a few thousand watches or numbers, not a stat object per file (the
 * chokidar watcher this replaces held ~8.7 KB per file, ~460 MB at 53,000 files).
 *
 * A reported folder means "the entries directly in it may have changed"; a folder that was added
 * is reported with every folder below it, one that was removed likewise (its files are gone).
 * Like the scanner's walk (walk.ts), hidden entries are skipped and symlinked folders are never
 * followed (folder-watch.test.ts).
 */
import { type Dirent, lstatSync, readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { type FolderHandle, type FolderHandles, folderHandles, type HandleKind } from './folder-handles.js';

export interface FolderSource {
  /** Resolves once the tree has been listed (changes after that are reported). */
  start(): Promise<void>;
  close(): void;
}

export interface FolderSourceOptions {
  root: string;
  /** A folder (relative, '' = root) whose entries changed, was added or was removed. */
  changed(folder: string): void;
  warn(err: unknown, message: string): void;
}

const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));
const hidden = (name: string) => name.startsWith('.');
const rel = (parent: string, name: string) => (parent === '' ? name : parent + sep + name);

function listDir(abs: string): Dirent[] | null {
  try {
    return readdirSync(abs, { withFileTypes: true });
  } catch {
    return null; // removed meanwhile, or unreadable: the scanner reports unreadable folders
  }
}

/**
 * inotify (or the platform's equivalent) on each folder. Throws ENOSPC/EMFILE out of start().
 * Each watch costs ~110 bytes of heap (folder-handles.ts): one callback pair serves them all.
 */
export class InotifyFolders implements FolderSource {
  private readonly watches = new Map<string, FolderHandle>();
  private closed = false;
  private readonly handles: FolderHandles;

  constructor(
    private readonly options: FolderSourceOptions & {
      /** Tests: which kind of watch to use (default: the cheapest the runtime offers). */
      handles?: HandleKind;
    },
  ) {
    this.handles = folderHandles(
      {
        event: (dir, event, name) => this.onEvent(dir, event, name),
        error: (dir, err, handle) => {
          // The folder went away under its watch (the parent's event removes the rest).
          this.options.warn(err, 'folder watch error');
          if (this.watches.get(dir) === handle) this.watches.delete(dir);
        },
      },
      options.handles,
    );
  }

  /** Which kind of watch is in use (tests, logs). */
  get kind(): HandleKind {
    return this.handles.kind;
  }

  async start(): Promise<void> {
    await this.addTree('', false);
  }

  close(): void {
    this.closed = true;
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }

  /** Number of folders watched (tests, logs). */
  get size(): number {
    return this.watches.size;
  }

  /** Watches `top` and every folder below it; `report` marks each as changed (a new folder). */
  private async addTree(top: string, report: boolean): Promise<void> {
    const stack = [top];
    let work = 0;
    while (stack.length > 0 && !this.closed) {
      const dir = stack.pop() as string;
      if (this.watches.has(dir)) continue;
      const abs = dir === '' ? this.options.root : join(this.options.root, dir);
      try {
        this.watches.set(dir, this.handles.open(abs, dir));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') continue;
        throw err; // ENOSPC (fs.inotify.max_user_watches), EMFILE: the caller falls back to polling
      }
      if (report) this.options.changed(dir);
      for (const e of listDir(abs) ?? []) {
        if (e.isDirectory() && !hidden(e.name)) stack.push(rel(dir, e.name));
      }
      if (++work % 256 === 0) await yieldNow();
    }
  }

  private onEvent(dir: string, event: string, entry: string | null): void {
    if (this.closed || !this.watches.has(dir)) return;
    if (entry === null) {
      this.options.changed(dir);
      return;
    }
    if (hidden(entry)) return;
    this.options.changed(dir);
    // Only creations, deletions and renames can add or remove a folder; writes are 'change'.
    if (event !== 'rename') return;
    const child = rel(dir, entry);
    const abs = join(this.options.root, child);
    const isDir = lstatSync(abs, { throwIfNoEntry: false })?.isDirectory() ?? false;
    if (this.watches.has(child) && !isDir) this.removeTree(child);
    else if (!this.watches.has(child) && isDir) {
      this.addTree(child, true).catch((err) => {
        this.options.warn(err, 'cannot watch a new folder');
        this.options.changed(child); // scanned anyway; later changes inside it come from its parent's rescans
      });
    }
  }

  /** A folder left the tree (deleted, or moved away): stop watching it and everything below. */
  private removeTree(top: string): void {
    const prefix = top + sep;
    for (const dir of [...this.watches.keys()]) {
      if (dir === top || dir.startsWith(prefix)) {
        this.drop(dir);
        this.options.changed(dir);
      }
    }
  }

  private drop(dir: string): void {
    this.watches.get(dir)?.close();
    this.watches.delete(dir);
  }
}

/** 32-bit FNV-1a of a string, seeded (two seeds give two independent hashes). */
function fnv(text: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Polling (network shares, where inotify sees nothing): every `intervalMs` after the previous
 * walk finished, list each folder and stat its entries; a folder's signature is an
 * order-independent pair of sums of per-entry hashes of (name, size, mtime) and the entry count.
 * Only the signatures are kept (~30 bytes per folder).
 */
export class PollingFolders implements FolderSource {
  private signatures = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly options: FolderSourceOptions & { intervalMs: number }) {}

  async start(): Promise<void> {
    this.signatures = await this.walk();
    this.next();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private next(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.poll().catch((err) => this.options.warn(err, 'library poll failed'));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const now = await this.walk();
    if (this.closed) return;
    for (const [dir, signature] of now) {
      if (this.signatures.get(dir) !== signature) this.options.changed(dir);
    }
    for (const dir of this.signatures.keys()) if (!now.has(dir)) this.options.changed(dir);
    this.signatures = now;
    this.next();
  }

  /** Sync calls in slices (a few µs each), yielding between slices, as the scanner's walk does. */
  private async walk(): Promise<Map<string, string>> {
    const signatures = new Map<string, string>();
    const stack = [''];
    let work = 0;
    while (stack.length > 0 && !this.closed) {
      const dir = stack.pop() as string;
      const abs = dir === '' ? this.options.root : join(this.options.root, dir);
      const entries = listDir(abs);
      if (entries === null) continue;
      let count = 0;
      let a = 0;
      let b = 0;
      for (const e of entries) {
        if (hidden(e.name)) continue;
        count++;
        let key: string;
        if (e.isDirectory()) {
          stack.push(rel(dir, e.name));
          key = `${e.name}/`;
        } else {
          const st = statSync(join(abs, e.name), { throwIfNoEntry: false });
          key = st ? `${e.name}\0${st.size}\0${st.mtimeMs}` : `${e.name}\0-`;
        }
        // Sums stay exact integers (< 2^53) for any realistic folder; order does not matter.
        a += fnv(key, 0x811c9dc5);
        b += fnv(key, 0x01000193);
        if (++work % 512 === 0) await yieldNow();
      }
      signatures.set(dir, `${count}:${a}:${b}`);
    }
    return signatures;
  }
}
