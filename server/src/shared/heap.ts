/**
 * Giving a scan's garbage back once the server goes quiet (issue 16: idle RSS).
 *
 * V8 collects when allocation asks it to, and an idle server allocates nothing: after a full scan
 * the old generation stays at its scan-time size (tens of MB of dead objects at 20,000 files)
 * until V8's memory reducer gets to it, tens of seconds later if at all. One full collection a
 * moment after the last scan returns those pages at once. Node has no API for it, so `gc` is made
 * available the documented way (`v8.setFlagsFromString('--expose-gc')`, then a fresh context's
 * `gc`), used only here; when that fails the server behaves as before. (cli/launch.ts turns the
 * same flag on before it compiles the CLI bundle: V8's code cache is stamped with its flags.)
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = () => void;
let collector: Gc | null | undefined;

function gcFunction(): Gc | null {
  if (collector !== undefined) return collector;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') collector = exposed as Gc;
  else {
    try {
      setFlagsFromString('--expose-gc');
      const fresh: unknown = runInNewContext('gc');
      collector = typeof fresh === 'function' ? (fresh as Gc) : null;
    } catch {
      collector = null;
    }
  }
  return collector;
}

/** Flags the user set for every collection: left as they are (not turned off after ours). */
const userFlags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');

/**
 * cli/launch.ts writes the CLI's code cache 10 s after start (or at exit): bytecode dropped before
 * that would be missing from the cache, and the next start would compile it again.
 */
const CODE_CACHE_WRITTEN_S = 15;

export interface CollectOptions {
  /**
   * Also move the surviving objects together so emptied pages go back to the system. A plain
   * collection frees the dead objects but keeps every page that still holds a live one: after a
   * 50,000-file scan the old generation stayed at 30 MB committed for 15 MB of live objects (idle
   * RSS 100 MB instead of 85) unless V8's memory reducer happened to compact it later, which it
   * does only when the heap grew since its last run.
   */
  compact?: boolean;
  /**
   * Also drop the bytecode of every function not running now (V8 compiles it again, from the
   * source it keeps, when it is next called). V8 does this by itself for functions unused over
   * five collections, but an idle server has none, and a forced collection does not age code:
   * start-up's and the scan's functions stayed, ~3.5 MB of a 50k server's idle heap. The first
   * requests after it compile what they run again (lazily, a function at a time).
   */
  dropCode?: boolean;
}

/**
 * Runs one full garbage collection now; false when this runtime does not allow it.
 *
 * The options are V8 flags (`--compact-on-every-full-gc`, `--stress-flush-code`) set for this one
 * collection and unset after it, which leaves V8's flag hash — the stamp on the CLI's code cache
 * (cli/launch.ts) — as it was (heap-compact.test.ts).
 */
export function collectGarbage(options: CollectOptions = {}): boolean {
  const gc = gcFunction();
  if (!gc) return false;
  const flags: string[] = [];
  if (options.compact && !userFlags.includes('compact-on-every-full-gc')) flags.push('compact-on-every-full-gc');
  if (options.dropCode && !userFlags.includes('stress-flush-code')) flags.push('stress-flush-code');
  const set: string[] = [];
  try {
    for (const flag of flags) {
      setFlagsFromString(`--${flag}`);
      set.push(flag);
    }
  } catch {
    // Whatever could be set; a plain collection otherwise.
  }
  try {
    gc();
  } finally {
    for (const flag of set) setFlagsFromString(`--no-${flag}`);
  }
  return true;
}

/**
 * A full collection `delayMs` after the last call (a burst of scans collects once, after the last)
 * that compacts and drops unused bytecode: the server is about to sit idle. The timer never keeps
 * the process alive.
 */
export function createQuietCollector(delayMs: number): { schedule(): void; cancel(): void } {
  let timer: NodeJS.Timeout | null = null;
  return {
    schedule() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        // Not in a process's first seconds, while its code cache may still be written.
        collectGarbage({ compact: true, dropCode: process.uptime() >= CODE_CACHE_WRITTEN_S });
      }, delayMs);
      timer.unref();
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
