/**
 * Stepped building of in-memory copies of database content (the search mirrors, README.md here):
 * a mirror is a snapshot, used only while a stamp read from the database (a value that changes
 * whenever the source does) is unchanged. On a change it stops answering at once and is rebuilt
 * in steps of a few milliseconds between requests, once the source has been quiet for
 * {@link QUIET_MS} (a running scan keeps search on FTS5). {@link MirrorKeeper} schedules the steps
 * on the event loop.
 */

/** A stale mirror is rebuilt once the index has not changed for this long. */
export const QUIET_MS = 1000;

/** A growable typed array (the postings live outside the JS heap). */
export class Grow<T extends Int32Array | Float64Array | Uint16Array> {
  length = 0;
  constructor(
    public data: T,
    private readonly make: (n: number) => T,
  ) {}
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = this.make(Math.max(1024, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  /** The filled part: a view, or a copy when the spare room is worth giving back. */
  done(): T {
    const spare = this.data.length - this.length;
    return (spare > this.length / 8 ? this.data.slice(0, this.length) : this.data.subarray(0, this.length)) as T;
  }
}
export const ints = () => new Grow(new Int32Array(0), (n) => new Int32Array(n));
export const floats = () => new Grow(new Float64Array(0), (n) => new Float64Array(n));

/** Index of `v` in an ascending array, or -1. */
export function indexIn(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = sorted[mid];
    if (x === v) return mid;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** A build in progress: `stamp` is what the source looked like when it began. */
export interface Builder<Snap> {
  readonly stamp: Buffer;
  readonly finished: boolean;
  /** Reads a few more rows (a few ms); false when the source moved under it. */
  step(): boolean;
  snapshot(): Snap;
}

/**
 * A copy of something in the database, built in steps and used only while the source is
 * unchanged: `readStamp` reads a value that changes whenever the source does (module comment).
 */
export abstract class SteppedMirror<Snap> {
  protected snapshot: Snap | null = null;
  private stamp: Buffer | null = null;
  private build: Builder<Snap> | null = null;
  /** The source changed since the snapshot (or there is none): callers read the database. */
  private stale = true;
  /** When the source was last seen changing while stale. */
  private changedAt = 0;
  private lastStamp: Buffer | null = null;

  constructor(readonly name: string) {}

  protected abstract readStamp(): Buffer;
  protected abstract startBuild(stamp: Buffer): Builder<Snap>;
  /** A new snapshot is in place (reset scratch space). */
  protected installed(): void {}

  /** Usable right now: built and the source has not changed since. */
  get ready(): boolean {
    return !this.stale && this.snapshot !== null;
  }

  /**
   * Compares the source with the snapshot (call when the database changed). A change makes the
   * mirror stale at once; the rebuild waits until the source stops changing ({@link work}).
   */
  check(now: number): void {
    const stamp = this.readStamp();
    if (this.snapshot && !this.stale && this.stamp?.equals(stamp)) return;
    if (!this.lastStamp) {
      // First look (no snapshot yet): build right away.
      this.lastStamp = stamp;
      this.changedAt = Number.NEGATIVE_INFINITY;
    } else if (!stamp.equals(this.lastStamp)) {
      this.moved(stamp, now);
    }
    this.stale = true;
  }

  /** Whether {@link work} has something to do now (a stale mirror whose source has been quiet). */
  wantsWork(now: number): boolean {
    return this.stale && now - this.changedAt >= QUIET_MS;
  }

  /**
   * One build step (a few ms). Returns true while more steps are wanted. A build the source moved
   * under is dropped and starts again after the next quiet period.
   */
  work(now: number): boolean {
    if (!this.wantsWork(now)) return false;
    const stamp = this.readStamp();
    const base = this.build?.stamp ?? this.lastStamp;
    if (base && !stamp.equals(base)) return this.moved(stamp, now);
    this.build ??= this.startBuild(stamp);
    if (!this.build.step()) return this.moved(this.readStamp(), now);
    if (!this.build.finished) return true;
    const after = this.readStamp();
    if (!after.equals(this.build.stamp)) return this.moved(after, now);
    this.snapshot = this.build.snapshot();
    this.stamp = this.build.stamp;
    this.build = null;
    this.stale = false;
    this.installed();
    return false;
  }

  /** The source changed (under a build, or while stale): drop the build, wait for quiet. */
  private moved(stamp: Buffer, now: number): false {
    this.build = null;
    this.lastStamp = stamp;
    this.changedAt = now;
    return false;
  }

  /** Builds (or rebuilds) the mirror now, in one go (tests and benches; the server builds in steps). */
  buildNow(): boolean {
    this.clear();
    const now = Date.now();
    this.check(now);
    while (this.work(now));
    return this.ready;
  }

  /** Frees the snapshot (memory). */
  clear(): void {
    this.snapshot = null;
    this.stamp = null;
    this.build = null;
    this.stale = true;
    this.lastStamp = null;
    this.installed();
  }
}

/**
 * Keeps a set of mirrors current on the event loop: checks them when the database changed and
 * rebuilds stale ones in steps between requests (a step is a few milliseconds).
 */
export class MirrorKeeper {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;

  /** `onReady`: called each time every mirror has become current. */
  constructor(
    private readonly mirrors: readonly SteppedMirror<unknown>[],
    private readonly onReady: () => void = () => {},
  ) {}

  /** The database changed: compare each mirror with its index, schedule rebuilds. */
  changed(): void {
    this.stopped = false;
    const now = Date.now();
    for (const m of this.mirrors) m.check(now);
    this.schedule();
  }

  /** Start (or continue) keeping the mirrors current. */
  schedule(): void {
    if (this.running || this.stopped) return;
    const now = Date.now();
    if (this.mirrors.some((m) => m.wantsWork(now))) {
      this.running = true;
      setImmediate(() => this.run());
    } else if (this.mirrors.some((m) => !m.ready) && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        for (const m of this.mirrors) if (!m.ready) m.check(Date.now());
        this.schedule();
      }, QUIET_MS);
      this.timer.unref();
    }
  }

  private run(): void {
    if (this.stopped) {
      this.running = false;
      return;
    }
    const now = Date.now();
    let more = false;
    for (const m of this.mirrors) {
      if (m.wantsWork(now)) {
        more = m.work(now);
        break; // one step per turn: queries queued meanwhile go first
      }
    }
    this.running = false;
    if (!more && this.mirrors.every((m) => m.ready)) this.onReady();
    if (more || this.mirrors.some((m) => m.wantsWork(Date.now()))) {
      this.running = true;
      setImmediate(() => this.run());
    } else this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const m of this.mirrors) m.clear();
  }
}
