/**
 * The song cache's two generations (catalog-cache.ts `Generations`): never more than the bound,
 * songs asked for lately survive a flood of new ones, and what nobody asked for ages out — where
 * one map emptied when full dropped everything at once.
 */
import { describe, expect, it } from 'vitest';
import { Generations } from './catalog-cache.js';

describe('Generations', () => {
  it('stays within the bound and keeps what was asked for lately through a flood of new keys', () => {
    const g = new Generations<number>(10);
    for (let i = 0; i < 5; i++) g.set(`a${i}`, i);
    expect(g.size).toBe(5);
    let most = 0;
    for (let i = 0; i < 100; i++) {
      g.set(`new${i}`, i);
      // a0 is asked for between every few new keys: a hit in the old generation moves it back.
      if (i % 3 === 0) expect(g.get('a0')).toBe(0);
      most = Math.max(most, g.size);
    }
    expect(most).toBeLessThanOrEqual(10);
    expect(g.get('a0')).toBe(0);
    expect(g.has('a0')).toBe(true);
    // Never asked for again: aged out.
    expect(g.get('a1')).toBeUndefined();
    expect(g.has('a4')).toBe(false);
    // The newest keys are all there.
    for (let i = 95; i < 100; i++) expect(g.get(`new${i}`)).toBe(i);
  });

  it('replaces a value in place and forgets everything on clear', () => {
    const g = new Generations<string>(4);
    g.set('x', 'one');
    g.set('y', 'y');
    g.set('z', 'z'); // x and y are now the old generation
    g.set('x', 'two');
    expect(g.get('x')).toBe('two');
    expect(g.size).toBe(3);
    g.clear();
    expect(g.size).toBe(0);
    expect(g.get('x')).toBeUndefined();
  });
});
