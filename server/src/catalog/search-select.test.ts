/**
 * The cut of the FTS mirror's ranking (search-fts-mirror.ts `selectNth`): the k-th smallest score
 * must be exactly what a full sort puts at index k, for every k, with ties, negative scores and
 * already sorted or reversed input (the mirror's ranking then matches FTS5 row for row).
 */
import { describe, expect, it } from 'vitest';
import { selectNth } from './search-fts-mirror.js';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('selectNth', () => {
  it('gives the value a full sort puts at each index', () => {
    const rnd = random(7);
    for (let round = 0; round < 400; round++) {
      const n = 1 + Math.floor(rnd() * 300);
      // Few distinct values in some rounds: many ties around the cut.
      const distinct = round % 3 === 0 ? 1 + Math.floor(rnd() * 5) : 0;
      const values = Float64Array.from({ length: n }, () =>
        distinct ? -Math.floor(rnd() * distinct) * 1.25 : -rnd() * 40,
      );
      if (round % 7 === 1) values.sort();
      if (round % 7 === 2) values.sort().reverse();
      const sorted = Float64Array.from(values).sort();
      for (const k of [0, n - 1, Math.floor(rnd() * n), Math.min(n - 1, 19)]) {
        expect(selectNth(Float64Array.from(values), k)).toBe(sorted[k]);
      }
    }
  });
});
