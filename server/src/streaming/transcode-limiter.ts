/**
 * Concurrency caps for transcodes: at most `global` running server-wide and `perUser` per
 * listener. A request over the cap waits briefly (a phone skipping tracks frees its old slot in
 * milliseconds), then is refused with 503 + Retry-After (no fork bomb: sockets.test.ts).
 */
import { Unavailable } from '../shared/errors.js';
import { telemetry } from '../shared/telemetry.js';

export interface Slot {
  release(): void;
}

interface Waiter {
  key: string;
  grant: (slot: Slot) => void;
  timer: NodeJS.Timeout;
}

export class TranscodeLimiter {
  private running = 0;
  private readonly perKey = new Map<string, number>();
  private readonly queue: Waiter[] = [];

  constructor(
    private readonly global: number,
    private readonly perUser: number,
    private readonly waitMs = 2_000,
  ) {}

  get active(): number {
    return this.running;
  }

  get waiting(): number {
    return this.queue.length;
  }

  private canRun(key: string): boolean {
    return this.running < this.global && (this.perKey.get(key) ?? 0) < this.perUser;
  }

  private take(key: string): Slot {
    this.running += 1;
    this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.running -= 1;
        const left = (this.perKey.get(key) ?? 1) - 1;
        if (left === 0) this.perKey.delete(key);
        else this.perKey.set(key, left);
        this.drain();
      },
    };
  }

  private drain(): void {
    for (let i = 0; i < this.queue.length; i++) {
      const w = this.queue[i];
      if (this.canRun(w.key)) {
        this.queue.splice(i, 1);
        clearTimeout(w.timer);
        w.grant(this.take(w.key));
        i -= 1;
      }
    }
  }

  /**
   * A slot for `key` (a user id, or `share:<id>` for anonymous listeners). Rejects with 503 after
   * the wait, or at once when `signal` aborts (the client went away while queued).
   */
  acquire(key: string, signal?: AbortSignal): Promise<Slot> {
    if (this.canRun(key) && this.queue.length === 0) return Promise.resolve(this.take(key));
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = {
        key,
        grant: (slot) => {
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) slot.release();
          else resolve(slot);
        },
        timer: setTimeout(() => {
          remove();
          const perUserFull = (this.perKey.get(key) ?? 0) >= this.perUser;
          telemetry.add('earshot_transcodes_refused_total', { reason: perUserFull ? 'user_limit' : 'server_limit' });
          reject(
            new Unavailable(
              perUserFull
                ? `You already have ${this.perUser} transcoded streams running; stop one or try again shortly.`
                : 'The server is transcoding as many streams as it can; try again shortly.',
              { retryAfterSeconds: 5 },
            ),
          );
        }, this.waitMs),
      };
      const remove = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        remove();
        telemetry.add('earshot_transcodes_refused_total', { reason: 'client_gone' });
        reject(new Unavailable('The client went away while waiting for a transcoding slot.'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }
}
