import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { collectGarbage, createQuietCollector } from './heap.js';

/** A WeakRef to an object nothing else holds (made in its own function so no local keeps it). */
function unreachable(): WeakRef<object> {
  return new WeakRef({ payload: new Array(10_000).fill('scan garbage') });
}

describe('heap collection when the server goes quiet', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('collectGarbage runs a full collection (an unreachable object is gone after it)', async () => {
    const ref = unreachable();
    // WeakRef targets survive until the end of the current job.
    await nextTurn();
    expect(collectGarbage()).toBe(true);
    expect(ref.deref()).toBeUndefined();
  });

  it('the quiet collector collects once, after the last of a burst of calls', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const quiet = createQuietCollector(3_000);
    const ref = unreachable();
    await nextTurn();
    quiet.schedule();
    vi.advanceTimersByTime(2_000);
    quiet.schedule(); // another scan finished: the collection moves
    vi.advanceTimersByTime(3_000);
    // (Before that, V8 may or may not have collected on its own: only "after" is certain.)
    expect(ref.deref()).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });
});
