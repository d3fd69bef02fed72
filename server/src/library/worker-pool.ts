/**
 * A small pool of tag-reading worker threads, created for one scan and terminated after it (so
 * the parser's memory is returned when the library is idle). Each job has a time budget: a file
 * that hangs the parser gets its worker terminated and replaced, and is reported unreadable.
 * Workers run with a capped heap, so a hostile file cannot take the server's memory with it.
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../shared/worker-entry.js';
import { FINISHED, PROGRESS_BYTES, STARTED_AT } from './reader-progress.js';
import type { ReadJob, ReadResult, TagWorkerData } from './tag-worker.js';

export interface WorkerPoolOptions {
  size: number;
  separators: string[];
  /** Per-file time budget. */
  timeoutMs?: number;
  heapMb?: number;
}

interface Pending {
  job: ReadJob;
  resolve: (r: ReadResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Jobs sent to this worker, in order; the worker reads them one after the other. */
  jobs: Pending[];
  /** Results received from this worker (the shared FINISHED counter minus this = held there). */
  received: number;
  /** The counters the worker shares (reader-progress.ts). */
  counters: BigInt64Array;
  /** When the worker last went from no jobs to some (no job of it can have started before). */
  busySince: number;
  /** Checks the time budget of the job the worker is on. */
  timer: NodeJS.Timeout | null;
  ready: boolean;
}

/**
 * Jobs queued inside each worker: while the main thread is busy (writing a batch), a worker keeps
 * reading instead of waiting for its next job. Jobs go over in batches (the room freed by a batch
 * of results, see tag-worker.ts), so this is two of the reader's result batches.
 */
const DEPTH = 64;

/** How long a reader may take to start before its first job is failed. */
const START_GRACE_MS = 60_000;

/** The readers cannot start at all (broken install): the scan fails instead of blaming every file. */
export class ReaderUnavailable extends Error {}

export class TagWorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private closed = false;
  private pumpQueued = false;
  private fatal: ReaderUnavailable | null = null;
  private readonly timeoutMs: number;
  private readonly entry = workerEntry('library/tag-worker');

  constructor(private readonly options: WorkerPoolOptions) {
    this.timeoutMs = options.timeoutMs ?? 20_000;
    for (let i = 0; i < Math.max(1, options.size); i++) this.slots.push(this.spawn());
  }

  get size(): number {
    return this.slots.length;
  }

  /** Jobs queued or running. */
  get pending(): number {
    return this.queue.length + this.slots.reduce((n, s) => n + s.jobs.length, 0);
  }

  read(job: ReadJob): Promise<ReadResult> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.closed) return Promise.resolve({ id: job.id, ok: false, reason: 'scan stopped' });
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      // Jobs asked for in one go (the read phase tops up many at once) leave in one message.
      if (!this.pumpQueued) {
        this.pumpQueued = true;
        queueMicrotask(() => this.pump());
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.resolve({ id: q.job.id, ok: false, reason: 'scan stopped' });
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.timer) clearTimeout(slot.timer);
        for (const p of slot.jobs.splice(0)) p.resolve({ id: p.job.id, ok: false, reason: 'scan stopped' });
        slot.worker.removeAllListeners();
        slot.worker.on('error', () => {});
        await slot.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    const progress = new SharedArrayBuffer(PROGRESS_BYTES);
    const worker = new Worker(this.entry.script, {
      eval: this.entry.eval,
      execArgv: this.entry.execArgv,
      workerData: { separators: this.options.separators, progress } satisfies TagWorkerData,
      // A 4 MB young generation: a file's parse garbage dies young either way; 8 MB cost ~3 MB
      // more of the scan's peak RSS for no measurable CPU.
      resourceLimits: { maxOldGenerationSizeMb: this.options.heapMb ?? 96, maxYoungGenerationSizeMb: 4 },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = {
      worker,
      jobs: [],
      received: 0,
      counters: new BigInt64Array(progress),
      busySince: 0,
      timer: null,
      ready: false,
    };
    worker.on('message', (results: ReadResult[] | 'ready') => {
      if (results === 'ready') {
        slot.ready = true;
        // The time budget is for reading a file, not for starting a thread (seconds on a loaded
        // machine): it starts again now for jobs sent before the reader was ready. (It is armed
        // from the post on: the readers are unref'd, and in `earshot scan` that timer is what
        // keeps the process alive while the first reader starts.)
        if (slot.jobs.length > 0) this.arm(slot);
        return;
      }
      for (const result of results) this.finish(slot, result);
      this.pump();
    });
    worker.on('error', (err) => {
      if (!slot.ready) return this.broken(err);
      this.crash(slot, `reader crashed: ${err.message.slice(0, 200)}`);
    });
    worker.on('exit', () => {
      if (!this.closed && slot.jobs.length > 0) this.crash(slot, 'reader exited unexpectedly');
    });
    worker.unref();
    return slot;
  }

  /** Tops every worker up to DEPTH jobs, taking turns so the work is spread evenly; one message each. */
  private pump(): void {
    this.pumpQueued = false;
    if (this.queue.length === 0 || this.closed) return;
    const batches = new Map<Slot, ReadJob[]>();
    let sent = true;
    while (sent && this.queue.length > 0) {
      sent = false;
      for (const slot of this.slots) {
        if (slot.jobs.length >= DEPTH || this.queue.length === 0) continue;
        const next = this.queue.shift() as Pending;
        slot.jobs.push(next);
        if (slot.jobs.length === 1) this.arm(slot);
        const batch = batches.get(slot);
        if (batch) batch.push(next.job);
        else batches.set(slot, [next.job]);
        sent = true;
      }
    }
    for (const [slot, batch] of batches) slot.worker.postMessage(batch);
  }

  /** Starts the time budget of a worker that had no jobs (or just became ready). */
  private arm(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.busySince = Date.now();
    slot.timer = setTimeout(() => this.check(slot), this.timeoutMs);
  }

  /**
   * The budget ran out since the worker got busy: find the job it is on from the shared counters
   * (results it holds are done, not late) and give that job what is left of its budget, or fail it.
   */
  private check(slot: Slot): void {
    slot.timer = null;
    if (slot.jobs.length === 0) return;
    const late = `timed out after ${this.timeoutMs} ms`;
    if (!slot.ready) {
      // Starting a thread is not a file's fault (seconds on a loaded machine; the budget starts
      // again when it is ready), within reason: a reader that never starts fails its first job.
      if (Date.now() - slot.busySince < START_GRACE_MS) slot.timer = setTimeout(() => this.check(slot), this.timeoutMs);
      else this.crash(slot, late);
      return;
    }
    const held = this.held(slot);
    if (held >= slot.jobs.length) {
      // Every job is read; the results are on their way.
      slot.timer = setTimeout(() => this.check(slot), this.timeoutMs);
      return;
    }
    const startedAt = Math.max(Number(Atomics.load(slot.counters, STARTED_AT)), slot.busySince);
    const left = startedAt + this.timeoutMs - Date.now();
    if (left <= 0) this.crash(slot, late);
    else slot.timer = setTimeout(() => this.check(slot), left);
  }

  /** Jobs the worker finished whose results have not arrived yet (held for its next batch). */
  private held(slot: Slot): number {
    return slot.ready ? Number(Atomics.load(slot.counters, FINISHED)) - slot.received : 0;
  }

  private finish(slot: Slot, result: ReadResult): void {
    const current = slot.jobs[0];
    if (!current || current.job.id !== result.id) return;
    slot.jobs.shift();
    slot.received += 1;
    if (slot.jobs.length === 0 && slot.timer) {
      clearTimeout(slot.timer);
      slot.timer = null;
    }
    current.resolve(result);
  }

  private broken(err: Error): void {
    this.fatal = new ReaderUnavailable(`tag readers could not start: ${err.message}`, { cause: err });
    for (const slot of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      for (const p of slot.jobs.splice(0)) p.reject(this.fatal);
    }
    for (const q of this.queue.splice(0)) q.reject(this.fatal);
  }

  /** The file took the worker down (time budget, heap limit): report it and replace the worker. */
  private crash(slot: Slot, reason: string): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    // The worker reads its jobs in order: the culprit is the first one it had not finished. The
    // jobs before it (finished, results held in the worker and lost with it) and after it go back
    // to the front of the queue for another worker.
    const jobs = slot.jobs.splice(0);
    const at = Math.min(Math.max(0, this.held(slot)), Math.max(0, jobs.length - 1));
    const [current] = jobs.splice(at, 1);
    this.queue.unshift(...jobs);
    if (current) current.resolve({ id: current.job.id, ok: false, reason });
    if (this.closed) return;
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    slot.worker.removeAllListeners();
    slot.worker.on('error', () => {});
    void slot.worker.terminate();
    this.slots[index] = this.spawn();
    this.pump();
  }
}
