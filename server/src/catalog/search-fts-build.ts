/**
 * Building an FTS mirror's snapshot (search-fts-mirror.ts) in steps: the row ids first, then the
 * index's terms as FTS5 tokenized them, read back through `fts5vocab` in FTS5's term order, with
 * each term's rows, column-weighted frequencies and columns, then the same postings by row.
 */
import type SQLite from 'better-sqlite3';
import { type Builder, floats, indexIn, ints } from './search-stepped.js';

/** Work per build step: FTS instance rows, row ids (a step stays within a few milliseconds). */
const STEP_ROWS = 2000;
const STEP_IDS = 10_000;

/** What a build reads: the FTS table's statements and its column weights and bits. */
export interface FtsSource {
  readonly stmt: { rowids: SQLite.Statement; first: SQLite.Statement; next: SQLite.Statement };
  readonly weightOf: (col: string) => number;
  readonly columnBit: (col: string) => number;
}

/** The built, immutable part of a mirror. */
export interface Snapshot {
  /** Terms in FTS5 order; the postings of terms[t] are [termStart[t], termStart[t+1]). */
  terms: string[];
  termStart: Int32Array;
  postDoc: Int32Array;
  postFreq: Float64Array;
  /** Per row (by index): FTS rowid and length in tokens. */
  rowids: Float64Array;
  lengths: Int32Array;
  /** The same postings by row: row d's terms are docTerm[docStart[d] … docStart[d+1]). */
  docStart: Int32Array;
  docTerm: Int32Array;
  docFreq: Float64Array;
  /** Columns the term is in, as bits (bit 0: the name column). */
  docCols: Uint8Array;
  avgdl: number;
  /**
   * Each prefix seen so far: its terms [lo, hi) and the rows holding one of them (FTS5's "nHit"
   * for the IDF), so a word met again costs a map lookup instead of two binary searches.
   */
  prefixes: Map<string, Prefix>;
}

/** One query word in a mirror: its terms [lo, hi) and how many distinct rows hold one. */
export interface Prefix {
  readonly lo: number;
  readonly hi: number;
  readonly hits: number;
}

/** A build in progress, advanced one step at a time. */
export class FtsBuild implements Builder<Snapshot> {
  readonly stamp: Buffer;
  private rowids = new Float64Array(0);
  private lengths = new Int32Array(0);
  /** Row ids are read first, in pages (null once all are in). */
  private ids: { list: ReturnType<typeof floats>; after: number } | null = {
    list: floats(),
    after: Number.NEGATIVE_INFINITY,
  };
  private readonly terms: string[] = [];
  private readonly termStart = ints();
  private readonly postDoc = ints();
  private readonly postFreq = floats();
  /** Per posting: the columns the term is in (bit 0: the first, the name column). */
  private readonly postCols = ints();
  private after: string | null = null;
  finished = false;

  constructor(
    private readonly mirror: FtsSource,
    stamp: Buffer,
  ) {
    this.stamp = stamp;
  }

  /** One page of row ids; true once all are read. */
  private readIds(ids: NonNullable<typeof this.ids>): boolean {
    const page = this.mirror.stmt.rowids.all(ids.after, STEP_IDS) as number[];
    for (const id of page) ids.list.push(id);
    if (page.length > 0) ids.after = page[page.length - 1];
    if (page.length === STEP_IDS) return false;
    this.rowids = ids.list.done();
    this.lengths = new Int32Array(this.rowids.length);
    this.ids = null;
    return true;
  }

  private docOf(rowid: number): number {
    return indexIn(this.rowids, rowid);
  }

  /** Reads the next whole terms (about STEP_ROWS instances). False when the index moved under it. */
  step(): boolean {
    if (this.ids) {
      this.readIds(this.ids);
      return true;
    }
    const { stmt, weightOf } = this.mirror;
    const rows = (
      this.after === null ? stmt.first.raw().iterate() : stmt.next.raw().iterate(this.after)
    ) as IterableIterator<[string, number, string]>;
    let read = 0;
    let term: string | null = null;
    let doc = -1;
    let freq = 0;
    let cols = 0;
    const flushPosting = () => {
      if (doc >= 0) {
        this.postDoc.push(doc);
        this.postFreq.push(freq);
        this.postCols.push(cols);
      }
      doc = -1;
      freq = 0;
      cols = 0;
    };
    // Leaving the loop early (return) closes the statement.
    for (const [t, rowid, col] of rows) {
      if (t !== term) {
        flushPosting();
        if (read >= STEP_ROWS) {
          this.after = term;
          return true;
        }
        term = t;
        this.terms.push(t);
        this.termStart.push(this.postDoc.length);
      }
      const d = this.docOf(rowid);
      if (d < 0) return false; // a row that appeared after the build began
      if (d !== doc) {
        flushPosting();
        doc = d;
      }
      freq += weightOf(col);
      cols |= this.mirror.columnBit(col);
      this.lengths[d]++;
      read++;
    }
    flushPosting();
    this.finished = true;
    return true;
  }

  snapshot(): Snapshot {
    const termStart = this.termStart;
    termStart.push(this.postDoc.length);
    const postDoc = this.postDoc.done();
    const postFreq = this.postFreq.done();
    const starts = termStart.done();
    const n = this.rowids.length;
    let tokens = 0;
    for (let d = 0; d < n; d++) tokens += this.lengths[d];
    // By row, in term order within each row.
    const docStart = new Int32Array(n + 1);
    for (let p = 0; p < postDoc.length; p++) docStart[postDoc[p] + 1]++;
    for (let d = 0; d < n; d++) docStart[d + 1] += docStart[d];
    const fill = docStart.slice(0, n);
    const docTerm = new Int32Array(postDoc.length);
    const docFreq = new Float64Array(postDoc.length);
    const docCols = new Uint8Array(postDoc.length);
    const postCols = this.postCols.done();
    for (let t = 0; t + 1 < starts.length; t++) {
      for (let p = starts[t]; p < starts[t + 1]; p++) {
        const at = fill[postDoc[p]]++;
        docTerm[at] = t;
        docFreq[at] = postFreq[p];
        docCols[at] = postCols[p];
      }
    }
    return {
      terms: this.terms,
      termStart: starts,
      postDoc,
      postFreq,
      rowids: this.rowids,
      lengths: this.lengths,
      docStart,
      docTerm,
      docFreq,
      docCols,
      avgdl: n > 0 && tokens > 0 ? tokens / n : 1,
      prefixes: new Map(),
    };
  }
}
