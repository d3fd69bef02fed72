/**
 * The main-thread handle of the search reader thread (search-worker.ts): started on the first
 * query that misses the result cache, stopped after a quiet minute (its isolate and page cache are
 * returned), restarted on demand. A reader that cannot start marks itself broken and the caller
 * ranks on the main connection instead.
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../shared/worker-entry.js';
import type { RankedJson } from './search-json.js';
import type { Sizes } from './search-ranker.js';
import type { RankReply, RankRequest, SearchWorkerData } from './search-worker.js';

interface Pending {
  resolve: (ranked: RankedJson) => void;
  reject: (err: Error) => void;
}

export class SearchReader {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private lastUsed = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  /** The thread could not start once: the caller ranks inline from now on. */
  broken = false;
  /** Queries answered by the thread (for tests and figures). */
  answered = 0;
  private ready = false;
  private closed = false;

  constructor(private readonly options: { path: string; cacheKib: number; idleMs: number }) {}

  /** The thread is alive (it stops after `idleMs` without queries). */
  get running(): boolean {
    return this.worker !== null;
  }

  rank(match: string, sizes: Sizes): Promise<RankedJson> {
    if (this.broken || this.closed) return Promise.reject(new Error('search reader unavailable'));
    const worker = this.worker ?? this.spawn();
    this.lastUsed = Date.now();
    this.armIdleStop();
    // Starting takes a moment (an isolate, the driver, the connection): meanwhile the caller ranks
    // inline instead of making the first searches wait for it.
    if (!this.ready) return Promise.reject(new Error('search reader starting'));
    if (this.pending.size === 0) worker.ref();
    const id = this.nextId++;
    return new Promise<RankedJson>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, match, sizes } satisfies RankRequest);
    });
  }

  /** For good (server shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  /** Until the next query. */
  private async stop(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const worker = this.worker;
    this.worker = null;
    this.ready = false;
    this.failAll(new Error('search reader stopped'));
    if (worker) {
      worker.removeAllListeners();
      worker.on('error', () => {});
      await worker.terminate();
    }
  }

  private spawn(): Worker {
    const entry = workerEntry('catalog/search-worker');
    const worker = new Worker(entry.script, {
      eval: entry.eval,
      workerData: { path: this.options.path, cacheKib: this.options.cacheKib } satisfies SearchWorkerData,
      resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 },
      stdout: false,
      stderr: false,
    });
    let ready = false;
    this.ready = false;
    worker.on('message', (reply: RankReply) => {
      if (reply === 'ready') {
        ready = true;
        if (this.worker === worker) this.ready = true;
        return;
      }
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if ('ranked' in reply) {
        this.answered++;
        p.resolve(reply.ranked);
      } else p.reject(new Error(reply.error));
    });
    const gone = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.ready = false;
      if (!ready) this.broken = true;
      this.failAll(err);
    };
    worker.on('error', gone);
    worker.on('exit', () => gone(new Error('search reader exited')));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private armIdleStop(): void {
    if (this.idleTimer) return;
    const check = () => {
      const idleFor = Date.now() - this.lastUsed;
      // Not while it is still starting: on a busy machine a start can outlast the idle time, and
      // stopping it then would make every start begin again.
      if (idleFor >= this.options.idleMs && this.pending.size === 0 && (this.ready || !this.worker)) {
        this.idleTimer = null;
        void this.stop();
      } else {
        this.idleTimer = setTimeout(check, Math.max(1000, this.options.idleMs - idleFor));
        this.idleTimer.unref();
      }
    };
    this.idleTimer = setTimeout(check, this.options.idleMs);
    this.idleTimer.unref();
  }
}
