/**
 * PostgreSQL's `ts_rank(weights, doc, query, 1)` recomputed over the PostgreSQL term mirror
 * (search-pg-mirror.ts), so the mirror orders a narrow answer exactly as the SQL plan
 * (search-pg-plan.ts) does: same operations, same order, same float4 (`real`) roundings as
 * PostgreSQL 15's src/backend/utils/adt/tsrank.c (`calc_rank_or`, `calc_rank_and`, `calc_rank`
 * with normalization 1). The two libm calls (`log` of the length, `exp` of `word_distance`) are not
 * recomputed in JS: their results come from PostgreSQL itself (`ln`, `exp`) when the mirror is
 * built ({@link RankTables}), so they are the server's bits. Tested against the SQL plan for random
 * queries (search-pg-mirror.test.ts).
 *
 * A lexeme position is kept as PostgreSQL's `WordEntryPos`: weight in the top two bits (A 3 … D 0),
 * position in the low fourteen.
 */
import { compareCodePoints } from './search-fts-mirror.js';

const f = Math.fround;
/** ts_rank's constant: π²/6, the limit of Σ 1/i². */
const PI2_6 = 1.64493406685;
const TINY = f(1e-20);
/** `word_distance` beyond 100 positions. */
const FAR = f(1e-30);

/**
 * Strings packed into one (a single object for the garbage collector to trace, whatever their
 * number): string i is text[starts[i], starts[i + 1]).
 */
export class Packed {
  readonly text: string;
  readonly starts: Int32Array;

  constructor(strings: string[]) {
    this.text = strings.join('');
    this.starts = new Int32Array(strings.length + 1);
    for (let i = 0; i < strings.length; i++) this.starts[i + 1] = this.starts[i] + strings[i].length;
  }

  get length(): number {
    return this.starts.length - 1;
  }

  at(i: number): string {
    return this.text.slice(this.starts[i], this.starts[i + 1]);
  }

  /** {@link compareCodePoints} of string i and `w`, without making string i. */
  compare(i: number, w: string): number {
    const { text } = this;
    const from = this.starts[i];
    const len = this.starts[i + 1] - from;
    const n = Math.min(len, w.length);
    for (let k = 0; k < n; k++) {
      let x = text.charCodeAt(from + k);
      let y = w.charCodeAt(k);
      if (x === y) continue;
      if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
      if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
      return x - y;
    }
    return len - w.length;
  }

  /** Whether string i starts with `w`. */
  startsWith(i: number, w: string): boolean {
    const from = this.starts[i];
    return this.starts[i + 1] - from >= w.length && this.text.startsWith(w, from);
  }
}

/** The term side of one section's mirror: terms in code point (= UTF-8 byte) order, per-row entries. */
export interface TermIndex {
  /** Distinct lexemes, in code point order (PostgreSQL's lexeme order). */
  terms: Packed;
  /** Rows holding term t: postRows[postStart[t] … postStart[t + 1]), ascending. */
  postStart: Int32Array;
  postRows: Int32Array;
  /** Row r's lexemes: entries entryStart[r] … entryStart[r + 1], ascending term ids (the tsvector's order). */
  entryStart: Int32Array;
  entryTerm: Int32Array;
  /** Entry e's positions: positions[entryPos[e] … entryPos[e + 1]) (WordEntryPos values). */
  entryPos: Int32Array;
  positions: Uint16Array;
}

/** What PostgreSQL computes with libm, read from it at build time, and a section's weights. */
export interface RankTables {
  /** {D, C, B, A} as float4. */
  weights: Float32Array;
  /** norm[len] = ln(len + 1) / ln(2), as PostgreSQL computes it (normalization 1). */
  norm: Float64Array;
  /** wordDistance[d] for d in 1…100, float4. */
  wordDistance: Float64Array;
}

/** ts_rank's float4 weights array, as `'{0.1,0.3,0.5,1.0}'::float4[]` reads it. */
export function weightsOf(pgArray: string): Float32Array {
  return Float32Array.from(pgArray.replace(/[{}]/g, '').split(','), Number);
}

/**
 * Words as `SortAndUniqItems` leaves a tsquery's operands: byte order, duplicates once, each as the
 * range of term ids it is a prefix of (lo, hi pairs); null when a word matches no term at all.
 */
export function wordRanges(index: TermIndex, words: string[]): Int32Array | null {
  const sorted = [...new Set(words)].sort(compareCodePoints);
  const ranges = new Int32Array(sorted.length * 2);
  const { terms } = index;
  for (let i = 0; i < sorted.length; i++) {
    const w = sorted[i];
    let lo = 0;
    let hi = terms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (terms.compare(mid, w) < 0) lo = mid + 1;
      else hi = mid;
    }
    // The terms w prefixes follow lo contiguously: the first one it does not prefix ends them.
    let end = terms.length;
    let a = lo;
    while (a < end) {
      const mid = (a + end) >>> 1;
      if (terms.startsWith(mid, w)) a = mid + 1;
      else end = mid;
    }
    if (end === lo) return null;
    ranges[2 * i] = lo;
    ranges[2 * i + 1] = end;
  }
  return ranges;
}

/** Whether row `row` has, for every word, a lexeme it prefixes (with a position of weight A when `nameOnly`). */
export function rowMatches(index: TermIndex, row: number, ranges: Int32Array, nameOnly: boolean): boolean {
  const { entryStart, entryTerm, entryPos, positions } = index;
  const first = entryStart[row];
  const last = entryStart[row + 1];
  for (let i = 0; i < ranges.length; i += 2) {
    const lo = ranges[i];
    const hi = ranges[i + 1];
    let found = false;
    for (let e = first; e < last && !found; e++) {
      const t = entryTerm[e];
      if (t < lo) continue;
      if (t >= hi) break;
      if (!nameOnly) found = true;
      else for (let p = entryPos[e]; p < entryPos[e + 1] && !found; p++) found = positions[p] >> 14 === 3;
    }
    if (!found) return false;
  }
  return true;
}

/** `ts_rank(weights, doc, query, 1)` of row `row` for the words' ranges ({@link wordRanges}). */
export function tsRank(index: TermIndex, row: number, ranges: Int32Array, tables: RankTables): number {
  const size = ranges.length / 2;
  let res = size < 2 ? rankOr(index, row, ranges, tables.weights) : rankAnd(index, row, ranges, tables);
  if (res < 0) res = TINY;
  const { entryStart, entryPos } = index;
  const length = entryPos[entryStart[row + 1]] - entryPos[entryStart[row]];
  return f(res / tables.norm[length]);
}

function rankOr(index: TermIndex, row: number, ranges: Int32Array, w: Float32Array): number {
  const { entryStart, entryTerm, entryPos, positions } = index;
  const size = ranges.length / 2;
  let res = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const lo = ranges[i];
    const hi = ranges[i + 1];
    for (let e = entryStart[row]; e < entryStart[row + 1]; e++) {
      const t = entryTerm[e];
      if (t < lo) continue;
      if (t >= hi) break;
      let resj = 0;
      let wjm = -1;
      let jm = 0;
      const p0 = entryPos[e];
      const dimt = entryPos[e + 1] - p0;
      for (let j = 0; j < dimt; j++) {
        const wp = w[positions[p0 + j] >> 14];
        resj = f(resj + f(wp / ((j + 1) * (j + 1))));
        if (wp > wjm) {
          wjm = wp;
          jm = j;
        }
      }
      // float arithmetic inside, then a double division and sum, stored as float.
      res = f(res + f(f(wjm + resj) - f(wjm / ((jm + 1) * (jm + 1)))) / PI2_6);
    }
  }
  return size > 0 ? f(res / size) : res;
}

/** rankAnd's per-word entries (queries have at most 8 words; more get their own). */
const SCRATCH = new Int32Array(16);

function rankAnd(index: TermIndex, row: number, ranges: Int32Array, tables: RankTables): number {
  const { entryStart, entryTerm, entryPos, positions } = index;
  const w = tables.weights;
  const size = ranges.length / 2;
  // pos[k]: the entry last seen for word k (tsrank.c keeps only the last of a prefix's lexemes).
  const pos = size <= SCRATCH.length ? SCRATCH : new Int32Array(size);
  pos.fill(-1, 0, size);
  let res = -1;
  for (let i = 0; i < size; i++) {
    const lo = ranges[2 * i];
    const hi = ranges[2 * i + 1];
    for (let e = entryStart[row]; e < entryStart[row + 1]; e++) {
      const t = entryTerm[e];
      if (t < lo) continue;
      if (t >= hi) break;
      pos[i] = e;
      for (let k = 0; k < i; k++) {
        const ek = pos[k];
        if (ek < 0) continue;
        for (let l = entryPos[e]; l < entryPos[e + 1]; l++) {
          const a = positions[l];
          for (let p = entryPos[ek]; p < entryPos[ek + 1]; p++) {
            const b = positions[p];
            const dist = Math.abs((a & 0x3fff) - (b & 0x3fff));
            if (dist === 0) continue; // every lexeme here has positions (no POSNULL)
            const wd = dist > 100 ? FAR : tables.wordDistance[dist];
            const curw = f(Math.sqrt(f(f(w[a >> 14] * w[b >> 14]) * wd)));
            res = res < 0 ? curw : f(1.0 - (1.0 - res) * (1.0 - curw));
          }
        }
      }
    }
  }
  return res;
}
