/**
 * One inotify watch per folder at the least memory per watch (issue 16: idle RSS with the watcher
 * on). A library of 50,000 files has ~6,500 folders, each watched for as long as the server runs,
 * so the bytes each watch keeps on the JavaScript heap add up:
 *
 * - `fs.watch` makes an `FSWatcher` (an EventEmitter with its own listener table) around Node's
 *   `FSEvent` handle, and a closure for the handle's callback: ~480 bytes per watch with shared
 *   listeners (~700 with a listener closure per folder, as before), ~3 MB at 6,500 folders.
 * - The `FSEvent` handle alone (`process.binding('fs_event_wrap')`, the handle `fs.watch` itself
 *   uses) with one callback shared by every watch: ~110 bytes per watch.
 *
 * The handle is used when this Node has it; otherwise (a runtime that refuses `process.binding`)
 * `fs.watch` with shared listeners. Either way one pair of functions serves every watch and the
 * folder is kept on the watch itself, so events and errors reach the same callbacks with the same
 * arguments (folder-watch-listeners.test.ts runs both kinds).
 */
import { type FSWatcher, watch } from 'node:fs';
import { getSystemErrorName } from 'node:util';

export type HandleKind = 'fs-event' | 'fs.watch';

export interface FolderHandle {
  close(): void;
}

export interface FolderHandleCallbacks {
  /** Something changed in `folder`: `name` is the entry (null when the platform does not say). */
  event(folder: string, event: string, name: string | null): void;
  /** `handle` failed (its folder went away under it, usually); it is closed already. */
  error(folder: string, err: Error, handle: FolderHandle): void;
}

export interface FolderHandles {
  readonly kind: HandleKind;
  /** Watches `abs` (not persistent) for `folder`; throws ENOENT, ENOSPC, EMFILE … like `fs.watch`. */
  open(abs: string, folder: string): FolderHandle;
}

const FOLDER = Symbol('folder');

/** Node's internal watch handle (src/fs_event_wrap.cc), as `lib/internal/fs/watchers.js` uses it. */
interface FSEventHandle extends FolderHandle {
  [FOLDER]: string;
  onchange: ((this: FSEventHandle, status: number, event: string, name: string | null) => void) | null;
  /** 0, or a negative errno. */
  start(path: string, persistent: boolean, recursive: boolean, encoding: string): number;
}
type FSEventClass = new () => FSEventHandle;

let fsEventClass: FSEventClass | null | undefined;

function fsEvent(): FSEventClass | null {
  if (fsEventClass !== undefined) return fsEventClass;
  try {
    // Deprecated for modules (DEP0111, documentation-only) but allowed for this binding; a
    // runtime that refuses it (permission model, a future Node) gets `fs.watch` instead.
    const binding = (process as unknown as { binding(name: string): { FSEvent?: unknown } }).binding('fs_event_wrap');
    fsEventClass = typeof binding.FSEvent === 'function' ? (binding.FSEvent as FSEventClass) : null;
  } catch {
    fsEventClass = null;
  }
  return fsEventClass;
}

/** The error `fs.watch` would have thrown or emitted for `errno` (a negative libuv code). */
function watchError(errno: number, path: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  const err: NodeJS.ErrnoException = new Error(`${code}: watch ${path}`);
  err.errno = errno;
  err.code = code;
  err.syscall = 'watch';
  err.path = path;
  return err;
}

function fsEventHandles(FSEvent: FSEventClass, callbacks: FolderHandleCallbacks): FolderHandles {
  // One callback for every handle: the handle is `this` (Node calls `onchange` on it).
  const onchange = function onchange(this: FSEventHandle, status: number, event: string, name: string | null) {
    if (status < 0) {
      this.onchange = null;
      this.close();
      callbacks.error(this[FOLDER], watchError(status, this[FOLDER]), this);
    } else callbacks.event(this[FOLDER], event, name);
  };
  return {
    kind: 'fs-event',
    open(abs, folder) {
      const handle = new FSEvent();
      const status = handle.start(abs, false, false, 'utf8');
      if (status !== 0) {
        handle.close();
        throw watchError(status, abs);
      }
      handle[FOLDER] = folder;
      handle.onchange = onchange;
      return handle;
    },
  };
}

type FolderWatch = FSWatcher & { [FOLDER]: string };

function fsWatchHandles(callbacks: FolderHandleCallbacks): FolderHandles {
  // An EventEmitter calls its listeners with `this` = itself: one pair serves every watch.
  const onChange = function onChange(this: FolderWatch, event: string, name: string | Buffer | null) {
    callbacks.event(this[FOLDER], event, name === null ? null : name.toString());
  };
  const onError = function onError(this: FolderWatch, err: Error) {
    this.close();
    callbacks.error(this[FOLDER], err, this);
  };
  return {
    kind: 'fs.watch',
    open(abs, folder) {
      // persistent: false — the HTTP listener keeps a server alive, a watch alone must not.
      const w = watch(abs, { persistent: false }) as FolderWatch;
      w[FOLDER] = folder;
      w.on('change', onChange);
      w.on('error', onError);
      return w;
    },
  };
}

/** Watches with the cheapest kind this runtime offers, or `kind` when given (tests). */
export function folderHandles(callbacks: FolderHandleCallbacks, kind?: HandleKind): FolderHandles {
  const FSEvent = kind === 'fs.watch' ? null : fsEvent();
  if (kind === 'fs-event' && !FSEvent) throw new Error('this runtime has no FSEvent handle');
  return FSEvent ? fsEventHandles(FSEvent, callbacks) : fsWatchHandles(callbacks);
}
