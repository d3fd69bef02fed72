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

interface Slot {
  worker: Worker;
  job: { job: ReadJob; resolve: (r: ReadResult) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null;
  ready: boolean;
}

/** The compiled worker (dist) or, when running from sources (tests, bench via tsx), the .ts file through tsx. */
function workerEntry(): { script: URL | string; eval: boolean } {
  const js = new URL('./tag-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { script: js, eval: false };
  // Sources only: register tsx's loader inside the worker thread, then load the TypeScript entry.
  const ts = new URL('./tag-worker.ts', import.meta.url).href;
  return {
    script: `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(ts)}); })`,
    eval: true,
  };
}

/** The readers cannot start at all (broken install): the scan fails instead of blaming every file. */
export class ReaderUnavailable extends Error {}

export class TagWorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: { job: ReadJob; resolve: (r: ReadResult) => void; reject: (e: Error) => void }[] = [];
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
    return this.queue.length + this.slots.filter((s) => s.job).length;
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
        if (slot.job) {
          clearTimeout(slot.job.timer);
          slot.job.resolve({ id: slot.job.job.id, ok: false, reason: 'scan stopped' });
          slot.job = null;
        }
        slot.worker.removeAllListeners();
        slot.worker.on('error', () => {});
        await slot.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    const worker = new Worker(this.entry.script, {
      eval: this.entry.eval,
      workerData: { separators: this.options.separators } satisfies TagWorkerData,
      resourceLimits: { maxOldGenerationSizeMb: this.options.heapMb ?? 96, maxYoungGenerationSizeMb: 8 },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, job: null, ready: false };
    worker.on('message', (result: ReadResult | 'ready') => {
      if (result === 'ready') {
        slot.ready = true;
        return;
      }
      this.finish(slot, result);
    });
    worker.on('error', (err) => {
      if (!slot.ready) return this.broken(err);
      this.crash(slot, `reader crashed: ${err.message.slice(0, 200)}`);
    });
    worker.on('exit', () => {
      if (!this.closed && slot.job) this.crash(slot, 'reader exited unexpectedly');
    });
    worker.unref();
    return slot;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job || this.queue.length === 0) continue;
      const next = this.queue.shift();
      if (!next) break;
      const timer = setTimeout(() => this.crash(slot, `timed out after ${this.timeoutMs} ms`), this.timeoutMs);
      slot.job = { ...next, timer };
      slot.worker.postMessage(next.job);
    }
  }

  private finish(slot: Slot, result: ReadResult): void {
    const current = slot.job;
    if (!current || current.job.id !== result.id) return;
    clearTimeout(current.timer);
    slot.job = null;
    current.resolve(result);
    this.pump();
  }

  private broken(err: Error): void {
    this.fatal = new ReaderUnavailable(`tag readers could not start: ${err.message}`, { cause: err });
    for (const slot of this.slots) {
      if (slot.job) {
        clearTimeout(slot.job.timer);
        slot.job.reject(this.fatal);
        slot.job = null;
      }
    }
    for (const q of this.queue.splice(0)) q.reject(this.fatal);
  }

  /** The file took the worker down (time budget, heap limit): report it and replace the worker. */
  private crash(slot: Slot, reason: string): void {
    const current = slot.job;
    slot.job = null;
    if (current) {
      clearTimeout(current.timer);
      current.resolve({ id: current.job.id, ok: false, reason });
    }
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
