/**
 * The stream idle timer: a stalled reader is dropped after the configured time, measured from its
 * last progress — not after ~2× as with `socket.setTimeout` while a write is queued.
 * The real-socket drop is covered by sockets.test.ts; here the clock is fake so the bound is exact.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Progress, watchIdle } from './idle-watch.js';

class FakeConnection implements Progress {
  bytes = 0;
  destroyedAt: number | null = null;
  get destroyed() {
    return this.destroyedAt !== null;
  }
  progress() {
    return this.bytes;
  }
  destroy() {
    this.destroyedAt = Date.now();
  }
}

describe('stream idle watch', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drops a client that stopped reading after the idle time plus at most one check', () => {
    const c = new FakeConnection();
    watchIdle(c, { idleMs: 60_000, now: () => Date.now() });
    // Reads for 10 s, then stalls.
    for (let t = 0; t < 10_000; t += 1_000) {
      c.bytes += 65_536;
      vi.advanceTimersByTime(1_000);
    }
    const stalledAt = 10_000;
    vi.advanceTimersByTime(59_000);
    expect(c.destroyed).toBe(false);
    vi.advanceTimersByTime(10_000);
    expect(c.destroyedAt).not.toBeNull();
    const idle = (c.destroyedAt as number) - stalledAt;
    expect(idle).toBeGreaterThanOrEqual(60_000);
    expect(idle).toBeLessThanOrEqual(60_000 + 3_000 + 1_000);
  });

  it('never drops a slow reader that keeps making progress, and stops when told to', () => {
    const c = new FakeConnection();
    const stop = watchIdle(c, { idleMs: 1_000, now: () => Date.now() });
    for (let i = 0; i < 100; i++) {
      c.bytes += 1;
      vi.advanceTimersByTime(900);
    }
    expect(c.destroyed).toBe(false);
    stop();
    vi.advanceTimersByTime(10_000);
    expect(c.destroyed).toBe(false);
  });

  it('does not count a blocked event loop against the client', () => {
    let clock = 0;
    const c = new FakeConnection();
    watchIdle(c, { idleMs: 1_000, now: () => clock });
    // The process was frozen for 5 s (the interval fires once, late): the client gets a fresh window.
    clock = 5_000;
    vi.advanceTimersByTime(50);
    expect(c.destroyed).toBe(false);
    for (let i = 0; i < 30; i++) {
      clock += 50;
      vi.advanceTimersByTime(50);
    }
    expect(c.destroyed).toBe(true);
  });
});
