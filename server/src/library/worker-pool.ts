/**
 * A small pool of tag-reading worker threads, created for one scan and terminated after it (so
 * the parser's memory is returned when the library is idle). Each job has a time budget: a file
 * that hangs the parser gets its worker terminated and replaced, and is reported unreadable.
 * Workers run with a capped heap, so a hostile file cannot take the server's memory with it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
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
  /** The time budget of the first job (the one the worker is reading). */
  timer: NodeJS.Timeout | null;
  ready: boolean;
}

/**
 * Jobs queued inside each worker: while the main thread is busy (writing a batch), a worker keeps
 * reading instead of waiting for its next job.
 */
const DEPTH = 8;

/** The compiled worker (dist) or, when running from sources (tests, bench via tsx), the .ts file through tsx.
 * `../library/`: this code also runs from the bundled CLI's chunks in `dist/app/`
 * (scripts/bundle-deps.mjs).
 */
function workerEntry(): { script: URL | string; eval: boolean; execArgv: string[] } {
  const js = new URL('../library/tag-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { script: js, eval: false, execArgv: withoutLoaders(process.execArgv) };
  // Sources only: register tsx's loader inside the worker thread, then load the TypeScript entry.
  const ts = new URL('../library/tag-worker.ts', import.meta.url).href;
  return {
    script: `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(ts)}); })`,
    eval: true,
    execArgv: process.execArgv,
  };
}

/**
 * The compiled worker needs no TypeScript loader: a parent started with `--import tsx` (bench,
 * dev) would otherwise route every module the worker loads through the loader's hooks thread.
 * Only diagnostics flags are passed on (a worker refuses process-wide ones such as --expose-gc).
 */
function withoutLoaders(argv: string[]): string[] {
  return argv.filter((a) => /^--(cpu-prof|heap-prof|enable-source-maps|stack-trace-limit)/.test(a));
}

/** The readers cannot start at all (broken install): the scan fails instead of blaming every file. */
export class ReaderUnavailable extends Error {}

export class TagWorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private closed = false;
  private fatal: ReaderUnavailable | null = null;
  private readonly timeoutMs: number;
  private readonly entry = workerEntry();

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
      this.pump();
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
    const worker = new Worker(this.entry.script, {
      eval: this.entry.eval,
      execArgv: this.entry.execArgv,
      workerData: { separators: this.options.separators } satisfies TagWorkerData,
      // A 4 MB young generation: a file's parse garbage dies young either way; 8 MB cost ~3 MB
      // more of the scan's peak RSS for no measurable CPU.
      resourceLimits: { maxOldGenerationSizeMb: this.options.heapMb ?? 96, maxYoungGenerationSizeMb: 4 },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, jobs: [], timer: null, ready: false };
    worker.on('message', (result: ReadResult | 'ready') => {
      if (result === 'ready') {
        slot.ready = true;
        // The time budget is for reading a file, not for starting a thread (seconds on a loaded
        // machine): it starts again now for a job that was sent before the reader was ready. (It
        // is armed from the post on: the readers are unref'd, and in `earshot scan` that timer
        // is what keeps the process alive while the first reader starts.)
        if (slot.jobs.length > 0) this.arm(slot);
        return;
      }
      this.finish(slot, result);
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

  /** Tops every worker up to DEPTH jobs, taking turns so the work is spread evenly. */
  private pump(): void {
    let sent = true;
    while (sent && this.queue.length > 0) {
      sent = false;
      for (const slot of this.slots) {
        if (slot.jobs.length >= DEPTH || this.queue.length === 0) continue;
        const next = this.queue.shift() as Pending;
        slot.jobs.push(next);
        if (slot.jobs.length === 1) this.arm(slot);
        slot.worker.postMessage(next.job);
        sent = true;
      }
    }
  }

  /** Starts the time budget of the job the worker is on now. */
  private arm(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = setTimeout(() => this.crash(slot, `timed out after ${this.timeoutMs} ms`), this.timeoutMs);
  }

  private finish(slot: Slot, result: ReadResult): void {
    const current = slot.jobs[0];
    if (!current || current.job.id !== result.id) return;
    slot.jobs.shift();
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    if (slot.jobs.length > 0) this.arm(slot);
    current.resolve(result);
    this.pump();
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
    // The worker reads its jobs in order: the first one is the culprit; the others go back to
    // the front of the queue for another worker.
    const [current, ...rest] = slot.jobs.splice(0);
    this.queue.unshift(...rest);
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
