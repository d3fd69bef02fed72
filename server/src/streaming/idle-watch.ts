/**
 * Drops a stream whose client has stopped reading for `idleMs` (idle-watch.test.ts, sockets.test.ts).
 *
 * Why not `socket.setTimeout(ms)`: when it fires while a write is queued, Node re-arms it once if
 * the write queue size changed since the previous write ("an active write is in progress"), so a
 * stalled reader of a stream that was still writing was dropped after ~2× the configured time
 * (measured: 4.0 s for a 2 s setting). This watch measures progress itself: bytes whose write
 * handed to the socket, bytes whose write completed (`bytesWritten - writableLength`, i.e. taken by
 * the kernel) and bytes read. It checks every `idleMs / 20` (at least 25 ms), so a stalled client
 * is dropped after `idleMs` plus at most one check interval. Time the event loop itself was
 * blocked does not count against the client (a busy server must not drop healthy listeners).
 */
import type { Socket } from 'node:net';

export interface Progress {
  /** A number that grows whenever the peer reads (write completed) or sends something. */
  progress(): number;
  /** Ends the connection. */
  destroy(): void;
  /** Whether the connection is already gone. */
  readonly destroyed: boolean;
}

export interface IdleWatchOptions {
  idleMs: number;
  /** Monotonic milliseconds (tests inject a fake clock). */
  now?: () => number;
}

export const socketProgress = (socket: Socket): Progress => ({
  // bytesWritten counts bytes handed to the socket, writableLength those not yet written out: the
  // sum moves when we write more, when the kernel takes a chunk, and when the peer sends anything.
  progress: () => 2 * socket.bytesWritten - socket.writableLength + socket.bytesRead,
  destroy: () => socket.destroy(),
  get destroyed() {
    return socket.destroyed;
  },
});

/** Starts watching; returns a function that stops the watch (call it when the response ends). */
export function watchIdle(target: Progress, options: IdleWatchOptions): () => void {
  const now = options.now ?? (() => performance.now());
  const every = Math.max(25, Math.floor(options.idleMs / 20));
  let last = target.progress();
  let lastMoved = now();
  let lastTick = lastMoved;
  const timer = setInterval(() => {
    if (target.destroyed) return stop();
    const p = target.progress();
    const t = now();
    // The loop was blocked (a scan, GC, a slow disk): that stretch is ours, not the client's.
    const lag = t - lastTick - every;
    if (lag > every) lastMoved += lag;
    lastTick = t;
    if (p !== last) {
      last = p;
      lastMoved = t;
    } else if (t - lastMoved >= options.idleMs) {
      stop();
      target.destroy();
    }
  }, every);
  // A watch never keeps the process alive on its own.
  timer.unref();
  function stop(): void {
    clearInterval(timer);
  }
  return stop;
}
