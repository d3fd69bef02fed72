/**
 * In-memory mirror of one FTS5 search index, so that a narrow query is ranked in tens of
 * microseconds on the event loop instead of through FTS5 (README.md here, "In-memory mirrors").
 *
 * A mirror holds what bm25 needs and nothing else: the index's terms (as FTS5 tokenized them,
 * read back through `fts5vocab`, so folding and diacritics are exactly FTS5's), for every term
 * the rows it occurs in with its column-weighted frequency, and every row's length in tokens.
 * {@link FtsMirror.rank} computes FTS5's own bm25 formula over those (same k1, b, IDF and
 * column weights, same summation order), so a query gets the same rows in the same order
 * whichever way it is ranked. The canary test (search-canary.test.ts) fails if an SQLite upgrade
 * changes what this relies on.
 *
 * Freshness: it remembers the FTS table's structure record, which FTS5 rewrites on every change
 * to the index (search-stepped.ts).
 */
import type SQLite from 'better-sqlite3';
import { FtsBuild, type Prefix, type Snapshot } from './search-fts-build.js';
import { MAX_TIES } from './search-ranker.js';
import { type Builder, SteppedMirror } from './search-stepped.js';

/** FTS5's bm25 constants (fts5_aux.c). */
const K1 = 1.2;
const B = 0.75;

/** Query words (after the rarest) whose rows rank() may mark instead of scanning each candidate's terms. */
const MAX_WORD_SLOTS = 4;
/** Query words the per-word scratch of rank() holds without growing (search.ts sends at most 8). */
const MAX_WORDS = 8;
/** Words whose terms and row count a mirror remembers (about 100 bytes each; dropped with the mirror). */
const PREFIXES_KEPT = 4096;

/** A query word's rows, marked with a generation, and its weighted frequency in each. */
interface WordSlot {
  mark: Uint32Array;
  freq: Float64Array;
  gen: number;
}

/** One candidate: its FTS rowid and bm25 score (lower is better, as in FTS5). */
export interface Scored {
  rowid: number;
  score: number;
}

/** The in-memory copy of one FTS5 table (module comment). */
export class FtsMirror extends SteppedMirror<Snapshot> {
  /** @internal statements of builds */
  readonly stmt;
  /** @internal column weight by column name */
  readonly weightOf: (col: string) => number;
  /** @internal column bit by column name */
  readonly columnBit: (col: string) => number;
  // Scratch space for rank(): a mark, a frequency and a candidate slot per row; per other query
  // word, its own marks; the scores to select the cut from.
  private marks: { mark: Uint32Array; freq: Float64Array; candidates: Int32Array } | null = null;
  private wordSlots: WordSlot[] = [];
  private matchScratch: { docs: Int32Array; scores: Float64Array } | null = null;
  private valueScratch: Float64Array | null = null;
  // Per query word (rank()): its prefix, the rarest-first order, IDF, frequency and word slot.
  private prefixesOfQuery: Prefix[] = new Array(MAX_WORDS);
  private orderScratch = new Int32Array(MAX_WORDS);
  private idfScratch = new Float64Array(MAX_WORDS);
  private freqScratch = new Float64Array(MAX_WORDS);
  private slotScratch: (WordSlot | null)[] = new Array(MAX_WORDS).fill(null);
  private generation = 0;

  constructor(sqlite: SQLite.Database, fts: string, weights: readonly number[]) {
    super(fts);
    const vocab = `temp."${fts}_instances"`;
    sqlite.exec(`create virtual table if not exists ${vocab} using fts5vocab(main, '${fts}', 'instance')`);
    const columns = sqlite
      .prepare(`select * from ${fts} limit 0`)
      .columns()
      .map((c) => c.name);
    const weightByName = new Map(columns.map((c, i) => [c, weights[i] ?? 1]));
    this.weightOf = (col) => weightByName.get(col) ?? 1;
    const bitByName = new Map(columns.map((c, i) => [c, 1 << Math.min(i, 7)]));
    this.columnBit = (col) => bitByName.get(col) ?? 0;
    this.stmt = {
      // FTS5 rewrites its structure record (id 10) on every change to the index.
      structure: sqlite.prepare(`select block from ${fts}_data where id = 10`).pluck(),
      rowids: sqlite.prepare(`select id from ${fts}_docsize where id > ? order by id limit ?`).pluck(),
      first: sqlite.prepare(`select term, doc, col from ${vocab}`),
      next: sqlite.prepare(`select term, doc, col from ${vocab} where term > ?`),
    };
  }

  protected readStamp(): Buffer {
    return (this.stmt.structure.get() as Buffer | undefined) ?? Buffer.alloc(0);
  }

  protected startBuild(stamp: Buffer): Builder<Snapshot> {
    return new FtsBuild(this, stamp);
  }

  protected override installed(): void {
    this.marks = null;
    this.wordSlots = [];
    this.matchScratch = null;
    this.valueScratch = null;
    this.generation = 0;
  }

  /**
   * Rows matching every prefix, best bm25 first: at most `limit` rows plus the rows tied with the
   * last (up to {@link MAX_TIES}), or `null` when more than `broad` rows match (the caller's
   * broad plan; same rule as counting with FTS5). Call only when {@link ready}.
   */
  rank(folded: readonly string[], limit: number, broad: number): Scored[] | null {
    const s = this.snapshot as Snapshot;
    const words = folded.length;
    // Each word's terms and distinct rows (FTS5's nHit for the IDF, and the plan rule).
    const prefixes = this.prefixScratch(words);
    for (let i = 0; i < words; i++) {
      const p = this.prefixOf(s, folded[i]);
      if (p.hits === 0) return [];
      prefixes[i] = p;
    }
    if (words === 1 && prefixes[0].hits > broad) return null;
    // The words from the rarest: candidates come from the first, the others are checked in that
    // order, so most candidates that lack one drop out at the first check. (A stable insertion
    // sort of at most a few words: no closure, no array per query.)
    const order = this.orderScratch;
    for (let i = 0; i < words; i++) {
      let j = i;
      while (j > 0 && prefixes[order[j - 1]].hits > prefixes[i].hits) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = i;
    }
    const rarest = order[0];
    // Candidates: the rarest word's rows, with its weighted frequency in each.
    const gen = this.nextGeneration();
    const { mark, freq, candidates } = this.slot();
    let nCand = 0;
    const { postDoc, postFreq, termStart } = s;
    for (let p = termStart[prefixes[rarest].lo], end = termStart[prefixes[rarest].hi]; p < end; p++) {
      const d = postDoc[p];
      if (mark[d] !== gen) {
        mark[d] = gen;
        freq[d] = 0;
        candidates[nCand++] = d;
      }
      freq[d] += postFreq[p];
    }
    const nRow = s.rowids.length;
    const idf = this.idfScratch;
    for (let i = 0; i < words; i++) {
      const n = prefixes[i].hits;
      const v = Math.log((nRow - n + 0.5) / (n + 0.5));
      idf[i] = v <= 0 ? 1e-6 : v;
    }
    // Each other word is found either in each candidate's own terms (a row has a handful) or, when
    // its postings are fewer than that scan would read, by marking its rows once (a word slot).
    const { lengths, docStart, docTerm, docFreq, avgdl } = s;
    const scanCost = nCand * (docTerm.length / Math.max(1, nRow));
    const slots = this.slotScratch;
    for (let j = 1; j < words; j++) {
      const i = order[j];
      const { lo, hi } = prefixes[i];
      const postings = termStart[hi] - termStart[lo];
      slots[i] = j <= MAX_WORD_SLOTS && postings < scanCost ? this.markWord(s, j - 1, lo, hi) : null;
    }
    // Contributions are summed in query order, as FTS5 does (same floating point).
    const { docs, scores } = this.scratch(s);
    const fs = this.freqScratch;
    let n = 0;
    for (let c = 0; c < nCand; c++) {
      const d = candidates[c];
      let all = true;
      for (let j = 1; j < words && all; j++) {
        const i = order[j];
        let f = 0;
        const slot = slots[i];
        if (slot !== null) {
          if (slot.mark[d] === slot.gen) f = slot.freq[d];
        } else {
          const { lo, hi } = prefixes[i];
          for (let p = docStart[d], end = docStart[d + 1]; p < end; p++) {
            const t = docTerm[p];
            if (t >= lo && t < hi) f += docFreq[p];
          }
        }
        if (f === 0) all = false;
        else fs[i] = f;
      }
      if (!all) continue;
      if (n === broad) return null;
      fs[rarest] = freq[d];
      const norm = K1 * (1 - B + (B * lengths[d]) / avgdl);
      let score = 0;
      for (let i = 0; i < words; i++) {
        const f = fs[i];
        score += idf[i] * ((f * (K1 + 1)) / (f + norm)); // fts5Bm25Function's association
      }
      docs[n] = d;
      scores[d] = -score;
      n++;
    }
    return this.best(s, docs, scores, n, limit);
  }

  /** Marks the rows of terms [lo, hi) in word slot `k`, with the word's weighted frequency in each. */
  private markWord(s: Snapshot, k: number, lo: number, hi: number): WordSlot {
    let slot = this.wordSlots[k];
    if (slot === undefined) {
      slot = { mark: new Uint32Array(s.rowids.length), freq: new Float64Array(s.rowids.length), gen: 0 };
      this.wordSlots[k] = slot;
    }
    if (++slot.gen === 0xffffffff) {
      slot.mark.fill(0);
      slot.gen = 1;
    }
    const { mark, freq, gen } = slot;
    const { postDoc, postFreq, termStart } = s;
    for (let p = termStart[lo], end = termStart[hi]; p < end; p++) {
      const d = postDoc[p];
      if (mark[d] !== gen) {
        mark[d] = gen;
        freq[d] = 0;
      }
      freq[d] += postFreq[p];
    }
    return slot;
  }

  /**
   * The `limit` best of the n matches in docs[0…n) (ties by FTS rowid), plus rows tied with the
   * last: the cut is the limit-th smallest score (selected in place, no sort of all n), and only
   * the rows at or above it are sorted.
   */
  private best(s: Snapshot, docs: Int32Array, scores: Float64Array, n: number, limit: number): Scored[] {
    const rowids = s.rowids;
    let chosen = docs.subarray(0, n);
    if (n > limit && limit > 0) {
      const values = this.values(s).subarray(0, n);
      for (let i = 0; i < n; i++) values[i] = scores[docs[i]];
      const cut = selectNth(values, limit - 1);
      let k = 0;
      for (let i = 0; i < n; i++) if (scores[docs[i]] <= cut) docs[k++] = docs[i];
      chosen = docs.subarray(0, k);
    }
    const order = chosen.sort((a, b) => scores[a] - scores[b] || rowids[a] - rowids[b]);
    let end = Math.min(limit, order.length);
    if (end > 0 && end < order.length) {
      const last = scores[order[end - 1]];
      while (end < order.length && end < limit + MAX_TIES && scores[order[end]] === last) end++;
    }
    const out: Scored[] = new Array(end);
    for (let i = 0; i < end; i++) out[i] = { rowid: rowids[order[i]], score: scores[order[i]] };
    return out;
  }

  /**
   * FTS rowids of the first `n` rows (in rowid order, as FTS5 lists matches) holding every
   * prefix, in the name column (the first) only when `nameOnly`: the broad plan's fill.
   */
  matchesInOrder(folded: readonly string[], n: number, nameOnly: boolean): number[] {
    const s = this.snapshot as Snapshot;
    const prefixes = folded.map((t) => this.prefixOf(s, t));
    let rarest = 0;
    for (let i = 1; i < prefixes.length; i++) if (prefixes[i].hits < prefixes[rarest].hits) rarest = i;
    const gen = this.nextGeneration();
    const { mark } = this.slot();
    const found: number[] = [];
    const { lo: rlo, hi: rhi } = prefixes[rarest];
    for (let p = s.termStart[rlo]; p < s.termStart[rhi]; p++) {
      const d = s.postDoc[p];
      if (mark[d] === gen) continue;
      mark[d] = gen;
      let all = true;
      for (let i = 0; i < prefixes.length && all; i++) {
        const { lo, hi } = prefixes[i];
        let cols = 0;
        for (let q = s.docStart[d]; q < s.docStart[d + 1]; q++) {
          const t = s.docTerm[q];
          if (t >= lo && t < hi) cols |= s.docCols[q];
        }
        all = nameOnly ? (cols & 1) !== 0 : cols !== 0;
      }
      if (all) found.push(d);
    }
    // Row indexes follow FTS rowids: the smallest indexes are the first matches.
    const first = Int32Array.from(found).sort().subarray(0, n);
    return Array.from(first, (d) => s.rowids[d]);
  }

  /**
   * A word's terms and distinct rows, remembered per snapshot (bounded): the two binary searches
   * over the terms (string compares) and, for a prefix of several terms, the count of its rows
   * are made once per word, not for every query and section it comes back in.
   */
  private prefixOf(s: Snapshot, prefix: string): Prefix {
    let p = s.prefixes.get(prefix);
    if (p === undefined) {
      const [lo, hi] = this.range(s, prefix);
      p = { lo, hi, hits: this.hitsOf(s, lo, hi) };
      if (s.prefixes.size >= PREFIXES_KEPT) s.prefixes.clear();
      s.prefixes.set(prefix, p);
    }
    return p;
  }

  /** Distinct rows holding a term of [lo, hi): a single term's postings count, else counted. */
  private hitsOf(s: Snapshot, lo: number, hi: number): number {
    if (hi - lo <= 1) return s.termStart[hi] - s.termStart[lo];
    const gen = this.nextGeneration();
    const { mark } = this.slot();
    let n = 0;
    for (let p = s.termStart[lo]; p < s.termStart[hi]; p++) {
      const d = s.postDoc[p];
      if (mark[d] !== gen) {
        mark[d] = gen;
        n++;
      }
    }
    return n;
  }

  /** The per-word scratch of rank(), grown for a caller with more than {@link MAX_WORDS} words. */
  private prefixScratch(words: number): Prefix[] {
    if (words > this.orderScratch.length) {
      this.prefixesOfQuery = new Array(words);
      this.orderScratch = new Int32Array(words);
      this.idfScratch = new Float64Array(words);
      this.freqScratch = new Float64Array(words);
      this.slotScratch = new Array(words).fill(null);
    }
    return this.prefixesOfQuery;
  }

  /** Match scratch of the current snapshot: row indexes, and a score per row. */
  private scratch(s: Snapshot): { docs: Int32Array; scores: Float64Array } {
    if (!this.matchScratch || this.matchScratch.scores.length !== s.rowids.length) {
      this.matchScratch = { docs: new Int32Array(s.rowids.length), scores: new Float64Array(s.rowids.length) };
    }
    return this.matchScratch;
  }

  /** Scratch arrays: a mark, a frequency and a candidate per row (allocated on first use, per snapshot). */
  private slot(): { mark: Uint32Array; freq: Float64Array; candidates: Int32Array } {
    if (!this.marks) {
      const n = (this.snapshot as Snapshot).rowids.length;
      this.marks = { mark: new Uint32Array(n), freq: new Float64Array(n), candidates: new Int32Array(n) };
    }
    return this.marks;
  }

  /** A score per row to select the cut from (allocated on first use, per snapshot). */
  private values(s: Snapshot): Float64Array {
    if (!this.valueScratch || this.valueScratch.length !== s.rowids.length) {
      this.valueScratch = new Float64Array(s.rowids.length);
    }
    return this.valueScratch;
  }

  /** Terms starting with `prefix`: [first, end) indexes (binary search in FTS5's term order, {@link compareCodePoints}). */
  private range(s: Snapshot, prefix: string): [number, number] {
    const { terms } = s;
    let lo = 0;
    let hi = terms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareCodePoints(terms[mid], prefix) < 0) lo = mid + 1;
      else hi = mid;
    }
    const first = lo;
    hi = terms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (terms[mid].startsWith(prefix)) lo = mid + 1;
      else hi = mid;
    }
    return [first, lo];
  }

  private nextGeneration(): number {
    if (++this.generation === 0xffffffff) {
      this.marks?.mark.fill(0);
      this.generation = 1;
    }
    return this.generation;
  }
}

/**
 * `a` vs `b` in code point order — the order of their UTF-8 bytes, which is FTS5's term order.
 * JavaScript's `<` compares UTF-16 code units, where an astral character (a surrogate pair,
 * 0xD800–0xDFFF) sorts *before* U+E000–U+FFFF; in UTF-8 it sorts after. With `<`, a query
 * starting with an astral character (or U+E000–U+FFFF) could binary-search past its terms and
 * answer nothing where FTS5 finds the track (issue 13). Shifting code units fixes the order.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The value that would be at index `k` if `a` were sorted ascending (`a` is reordered):
 * Hoare's quickselect, median-of-three pivots. Scores are finite (no NaN).
 */
export function selectNth(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot.
    let x = a[lo];
    let y = a[mid];
    let z = a[hi];
    if (x > y) [x, y] = [y, x];
    if (y > z) [y, z] = [z, y];
    if (x > y) [x, y] = [y, x];
    const pivot = y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}
