/**
 * The song cache's order (catalog-cache.ts `RecentlyUsed`): never more than the bound, songs asked
 * for lately survive a flood of new ones, what nobody asked for ages out oldest first — where one
 * map emptied when full dropped everything at once — and a working set of most of the bound stays
 * whole (two generations of half the bound each lost part of it on every turn).
 */
import { describe, expect, it } from 'vitest';
import { RecentlyUsed } from './catalog-cache.js';

describe('RecentlyUsed', () => {
  it('stays within the bound and keeps what was asked for lately through a flood of new keys', () => {
    const cache = new RecentlyUsed<number>(10);
    for (let i = 0; i < 5; i++) cache.set(`a${i}`, i);
    expect(cache.size).toBe(5);
    let most = 0;
    for (let i = 0; i < 100; i++) {
      cache.set(`new${i}`, i);
      // a0 is asked for every few new keys: each hit makes it the most recent again.
      if (i % 3 === 0) expect(cache.get('a0')).toBe(0);
      most = Math.max(most, cache.size);
    }
    expect(most).toBe(10);
    expect(cache.get('a0')).toBe(0);
    expect(cache.has('a0')).toBe(true);
    // Never asked for again: aged out.
    expect(cache.get('a1')).toBeUndefined();
    expect(cache.has('a4')).toBe(false);
    // The newest keys are all there.
    for (let i = 91; i < 100; i++) expect(cache.get(`new${i}`)).toBe(i);
  });

  it('keeps a working set of 90 % of the bound whole while new keys pass through', () => {
    const cache = new RecentlyUsed<number>(100);
    const working = Array.from({ length: 90 }, (_, i) => `w${i}`);
    for (const [i, k] of working.entries()) cache.set(k, i);
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 5; i++) cache.set(`once${round}-${i}`, i);
      for (const [i, k] of working.entries()) expect(cache.get(k)).toBe(i);
    }
    expect(cache.size).toBe(100);
  });

  it('replaces a value in place and forgets everything on clear', () => {
    const cache = new RecentlyUsed<string>(2);
    cache.set('x', 'one');
    cache.set('y', 'y');
    cache.set('x', 'two'); // x is now the most recent: z drops y
    cache.set('z', 'z');
    expect(cache.get('x')).toBe('two');
    expect(cache.has('y')).toBe(false);
    expect(cache.size).toBe(2);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('x')).toBeUndefined();
  });
});
