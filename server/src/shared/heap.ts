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

/** The user's own flags turn compaction on for every collection: leave it as they set it. */
const compactsAlways = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) =>
  a.includes('compact-on-every-full-gc'),
);

/**
 * Runs one full garbage collection now; false when this runtime does not allow it.
 *
 * `compact`: also move the surviving objects together so the emptied pages go back to the system.
 * A plain collection frees the dead objects but keeps every page that still holds a live one: after
 * a 50,000-file scan the old generation stayed at 30 MB committed for 15 MB of live objects (idle
 * RSS 100 MB instead of 85) unless V8's memory reducer happened to compact it later, which it does
 * only when the heap grew since its last run. V8 compacts every page it can when
 * `--compact-on-every-full-gc` is set; it is set for this one collection and unset after, which
 * leaves V8's flag hash — the stamp on the CLI's code cache (cli/launch.ts) — as it was.
 */
export function collectGarbage(options: { compact?: boolean } = {}): boolean {
  const gc = gcFunction();
  if (!gc) return false;
  let compacting = false;
  if (options.compact && !compactsAlways) {
    try {
      setFlagsFromString('--compact-on-every-full-gc');
      compacting = true;
    } catch {
      // A plain collection, then.
    }
  }
  try {
    gc();
  } finally {
    if (compacting) setFlagsFromString('--no-compact-on-every-full-gc');
  }
  return true;
}

/**
 * A full, compacting collection `delayMs` after the last call (a burst of scans collects once,
 * after the last). The timer never keeps the process alive.
 */
export function createQuietCollector(delayMs: number): { schedule(): void; cancel(): void } {
  let timer: NodeJS.Timeout | null = null;
  return {
    schedule() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        collectGarbage({ compact: true });
      }, delayMs);
      timer.unref();
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
