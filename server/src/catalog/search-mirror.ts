/**
 * In-memory mirrors of the FTS5 search indexes, kept by the search reader thread
 * (search-worker.ts), so that a narrow query is ranked in tens of microseconds instead of through
 * FTS5 (README.md here, "Ranking").
 *
 * A mirror holds what bm25 needs and nothing else: the index's terms (as FTS5 tokenized them,
 * read back through `fts5vocab`, so folding and diacritics are exactly FTS5's), for every term
 * the rows it occurs in with its column-weighted frequency, and every row's length in tokens.
 * {@link FtsMirror.rank} computes FTS5's own bm25 formula over those (same k1, b, IDF and
 * column weights), so a query gets the same rows in the same order whichever way it is ranked.
 *
 * Freshness: a mirror is a snapshot. It remembers the FTS table's structure record, which FTS5
 * rewrites on every change to the index; {@link MirrorKeeper} compares it when the database
 * changed and stops using a mirror the moment it differs, then rebuilds it in small steps once
 * writes pause (a scan in progress keeps queries on FTS5). Only queries whose words are plain
 * ASCII letters and digits use a mirror: their folding (lower case) is certain; anything else
 * goes to FTS5 and its tokenizer.
 */
import SQLite from 'better-sqlite3';

/** FTS5's bm25 constants (fts5_aux.c). */
const K1 = 1.2;
const B = 0.75;
/**
 * Work per build step: FTS instance rows, row ids, catalog rows. Builds run on the event loop
 * between requests, so a step stays within a few milliseconds.
 */
const STEP_ROWS = 2000;
const STEP_IDS = 10_000;
const ROW_STEP = 200;
/** A stale mirror is rebuilt once the index has not changed for this long. */
const QUIET_MS = 1000;
/** At most this many rows tied with the last one are kept past the limit (final order is the caller's). */
export const MAX_TIES = 100;

/** Words FTS5 folds to lower case and nothing else (no need to ask the tokenizer). */
const PLAIN = /^[A-Za-z0-9]+$/;
/** Folded words remembered (search-as-you-type repeats them). */
const FOLDS_KEPT = 4096;

/** A growable typed array (the postings live outside the JS heap). */
class Grow<T extends Int32Array | Float64Array> {
  length = 0;
  constructor(
    public data: T,
    private readonly make: (n: number) => T,
  ) {}
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = this.make(Math.max(1024, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  /** The filled part: a view, or a copy when the spare room is worth giving back. */
  done(): T {
    const spare = this.data.length - this.length;
    return (spare > this.length / 8 ? this.data.slice(0, this.length) : this.data.subarray(0, this.length)) as T;
  }
}
const ints = () => new Grow(new Int32Array(0), (n) => new Int32Array(n));
const floats = () => new Grow(new Float64Array(0), (n) => new Float64Array(n));

/** One candidate: its FTS rowid and bm25 score (lower is better, as in FTS5). */
export interface Scored {
  rowid: number;
  score: number;
}

/** The built, immutable part of a mirror. */
interface Snapshot {
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
  /** Rows matching each prefix seen so far (FTS5's "nHit" for the IDF). */
  hits: Map<string, number>;
}

/** A build in progress, advanced one step at a time. */
class Build implements Builder<Snapshot> {
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
    private readonly mirror: FtsMirror,
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
      hits: new Map(),
    };
  }
}

/** A build in progress: `stamp` is what the source looked like when it began. */
export interface Builder<Snap> {
  readonly stamp: Buffer;
  readonly finished: boolean;
  /** Reads a few more rows (a few ms); false when the source moved under it. */
  step(): boolean;
  snapshot(): Snap;
}

/**
 * A copy of something in the database, built in steps and used only while the source is
 * unchanged: `readStamp` reads a value that changes whenever the source does (module comment).
 */
export abstract class SteppedMirror<Snap> {
  protected snapshot: Snap | null = null;
  private stamp: Buffer | null = null;
  private build: Builder<Snap> | null = null;
  /** The source changed since the snapshot (or there is none): callers read the database. */
  private stale = true;
  /** When the source was last seen changing while stale. */
  private changedAt = 0;
  private lastStamp: Buffer | null = null;

  constructor(readonly name: string) {}

  protected abstract readStamp(): Buffer;
  protected abstract startBuild(stamp: Buffer): Builder<Snap>;
  /** A new snapshot is in place (reset scratch space). */
  protected installed(): void {}

  /** Usable right now: built and the source has not changed since. */
  get ready(): boolean {
    return !this.stale && this.snapshot !== null;
  }

  /**
   * Compares the source with the snapshot (call when the database changed). A change makes the
   * mirror stale at once; the rebuild waits until the source stops changing ({@link work}).
   */
  check(now: number): void {
    const stamp = this.readStamp();
    if (this.snapshot && !this.stale && this.stamp?.equals(stamp)) return;
    if (!this.lastStamp) {
      // First look (no snapshot yet): build right away.
      this.lastStamp = stamp;
      this.changedAt = Number.NEGATIVE_INFINITY;
    } else if (!stamp.equals(this.lastStamp)) {
      this.moved(stamp, now);
    }
    this.stale = true;
  }

  /** Whether {@link work} has something to do now (a stale mirror whose source has been quiet). */
  wantsWork(now: number): boolean {
    return this.stale && now - this.changedAt >= QUIET_MS;
  }

  /**
   * One build step (a few ms). Returns true while more steps are wanted. A build the source moved
   * under is dropped and starts again after the next quiet period.
   */
  work(now: number): boolean {
    if (!this.wantsWork(now)) return false;
    const stamp = this.readStamp();
    const base = this.build?.stamp ?? this.lastStamp;
    if (base && !stamp.equals(base)) return this.moved(stamp, now);
    this.build ??= this.startBuild(stamp);
    if (!this.build.step()) return this.moved(this.readStamp(), now);
    if (!this.build.finished) return true;
    const after = this.readStamp();
    if (!after.equals(this.build.stamp)) return this.moved(after, now);
    this.snapshot = this.build.snapshot();
    this.stamp = this.build.stamp;
    this.build = null;
    this.stale = false;
    this.installed();
    return false;
  }

  /** The source changed (under a build, or while stale): drop the build, wait for quiet. */
  private moved(stamp: Buffer, now: number): false {
    this.build = null;
    this.lastStamp = stamp;
    this.changedAt = now;
    return false;
  }

  /** Builds (or rebuilds) the mirror now, in one go (tests; the reader thread builds in steps). */
  buildNow(): boolean {
    this.clear();
    const now = Date.now();
    this.check(now);
    while (this.work(now));
    return this.ready;
  }

  /** Frees the snapshot (memory). */
  clear(): void {
    this.snapshot = null;
    this.stamp = null;
    this.build = null;
    this.stale = true;
    this.lastStamp = null;
    this.installed();
  }
}

/** The in-memory copy of one FTS5 table (module comment). */
export class FtsMirror extends SteppedMirror<Snapshot> {
  /** @internal statements of builds */
  readonly stmt;
  /** @internal column weight by column name */
  readonly weightOf: (col: string) => number;
  /** @internal column bit by column name */
  readonly columnBit: (col: string) => number;
  // Scratch space for rank(): per query word, a mark and a frequency per row.
  private marks: { mark: Uint32Array; freq: Float64Array } | null = null;
  private matchScratch: { docs: Int32Array; scores: Float64Array } | null = null;
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
    return new Build(this, stamp);
  }

  protected override installed(): void {
    this.marks = null;
    this.matchScratch = null;
    this.generation = 0;
  }

  /**
   * Rows matching every prefix, best bm25 first: at most `limit` rows plus the rows tied with the
   * last (up to {@link MAX_TIES}), or `null` when more than `broad` rows match (the caller's
   * broad plan; same rule as counting with FTS5). Call only when {@link ready}.
   */
  rank(folded: readonly string[], limit: number, broad: number): Scored[] | null {
    const s = this.snapshot as Snapshot;
    const ranges = folded.map((t) => this.range(s, t));
    // Distinct rows per word: FTS5's nHit for the IDF, and the plan rule.
    const hits = folded.map((t, i) => this.hitsOf(s, t, ranges[i]));
    if (hits.some((n) => n === 0)) return [];
    if (folded.length === 1 && hits[0] > broad) return null;
    let rarest = 0;
    for (let i = 1; i < hits.length; i++) if (hits[i] < hits[rarest]) rarest = i;
    // Candidates: the rarest word's rows, with its weighted frequency in each.
    const gen = this.nextGeneration();
    const { mark, freq } = this.slot();
    const candidates: number[] = [];
    const [rlo, rhi] = ranges[rarest];
    const { postDoc, postFreq } = s;
    for (let p = s.termStart[rlo], end = s.termStart[rhi]; p < end; p++) {
      const d = postDoc[p];
      if (mark[d] !== gen) {
        mark[d] = gen;
        freq[d] = 0;
        candidates.push(d);
      }
      freq[d] += postFreq[p];
    }
    const nRow = s.rowids.length;
    const idf = hits.map((n) => {
      const v = Math.log((nRow - n + 0.5) / (n + 0.5));
      return v <= 0 ? 1e-6 : v;
    });
    // The other words from each candidate's own terms (a row has a handful): rows missing one
    // drop out. Contributions are summed in query order, as FTS5 does (same floating point).
    const { docs, scores } = this.scratch(s);
    const parts = new Float64Array(folded.length);
    const words = folded.length;
    const los = Int32Array.from(ranges, (r) => r[0]);
    const his = Int32Array.from(ranges, (r) => r[1]);
    const { lengths, docStart, docTerm, docFreq, avgdl } = s;
    let n = 0;
    for (let c = 0; c < candidates.length; c++) {
      const d = candidates[c];
      const norm = K1 * (1 - B + (B * lengths[d]) / avgdl);
      let all = true;
      for (let i = 0; i < words && all; i++) {
        let f = 0;
        if (i === rarest) f = freq[d];
        else {
          const lo = los[i];
          const hi = his[i];
          for (let p = docStart[d], end = docStart[d + 1]; p < end; p++) {
            const t = docTerm[p];
            if (t >= lo && t < hi) f += docFreq[p];
          }
        }
        if (f === 0) all = false;
        else parts[i] = (idf[i] * (f * (K1 + 1))) / (f + norm);
      }
      if (!all) continue;
      if (n === broad) return null;
      let score = 0;
      for (let i = 0; i < words; i++) score += parts[i];
      docs[n] = d;
      scores[d] = -score;
      n++;
    }
    return this.best(s, docs, scores, n, limit);
  }

  /**
   * The `limit` best of the n matches in docs[0…n) (ties by FTS rowid), plus rows tied with the
   * last: a native sort of the scores finds the cut, and only the rows at or above it are sorted.
   */
  private best(s: Snapshot, docs: Int32Array, scores: Float64Array, n: number, limit: number): Scored[] {
    const rowids = s.rowids;
    let chosen = docs.subarray(0, n);
    if (n > limit && limit > 0) {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = scores[docs[i]];
      const cut = values.sort()[limit - 1];
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
    const ranges = folded.map((t) => this.range(s, t));
    const hits = folded.map((t, i) => this.hitsOf(s, t, ranges[i]));
    let rarest = 0;
    for (let i = 1; i < hits.length; i++) if (hits[i] < hits[rarest]) rarest = i;
    const gen = this.nextGeneration();
    const { mark } = this.slot();
    const found: number[] = [];
    const [rlo, rhi] = ranges[rarest];
    for (let p = s.termStart[rlo]; p < s.termStart[rhi]; p++) {
      const d = s.postDoc[p];
      if (mark[d] === gen) continue;
      mark[d] = gen;
      let all = true;
      for (let i = 0; i < ranges.length && all; i++) {
        const [lo, hi] = ranges[i];
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

  /** Distinct rows holding a term of the range: a single term's postings count, else counted once per prefix. */
  private hitsOf(s: Snapshot, prefix: string, [lo, hi]: [number, number]): number {
    if (hi - lo <= 1) return s.termStart[hi] - s.termStart[lo];
    let n = s.hits.get(prefix);
    if (n === undefined) {
      const gen = this.nextGeneration();
      const { mark } = this.slot();
      n = 0;
      for (let p = s.termStart[lo]; p < s.termStart[hi]; p++) {
        const d = s.postDoc[p];
        if (mark[d] !== gen) {
          mark[d] = gen;
          n++;
        }
      }
      if (s.hits.size >= 8192) s.hits.clear();
      s.hits.set(prefix, n);
    }
    return n;
  }

  /** Match scratch of the current snapshot: row indexes, and a score per row. */
  private scratch(s: Snapshot): { docs: Int32Array; scores: Float64Array } {
    if (!this.matchScratch || this.matchScratch.scores.length !== s.rowids.length) {
      this.matchScratch = { docs: new Int32Array(s.rowids.length), scores: new Float64Array(s.rowids.length) };
    }
    return this.matchScratch;
  }

  /** Scratch arrays: a mark and a frequency per row (allocated on first use, per snapshot). */
  private slot(): { mark: Uint32Array; freq: Float64Array } {
    if (!this.marks) {
      const n = (this.snapshot as Snapshot).rowids.length;
      this.marks = { mark: new Uint32Array(n), freq: new Float64Array(n) };
    }
    return this.marks;
  }

  /** Terms starting with `prefix`: [first, end) indexes (binary search; see the module comment on order). */
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

/** Rows of a catalog table as DTO JSON (one UTF-8 buffer), in table order. */
interface RowSnapshot {
  /** Row i: FTS rowid, table rowid (ascending), JSON at bytes[starts[i], ends[i]), id, tie value, name. */
  rowids: Float64Array;
  tableRowids: Float64Array;
  starts: Int32Array;
  ends: Int32Array;
  ties: Float64Array;
  ids: string[];
  names: string[];
  bytes: Buffer;
  /** Row indexes by FTS rowid when FTS rowids are not ascending in table order (rare). */
  byRowid: Map<number, number> | null;
  /** Row indexes in name order (`collate nocase`, then table rowid), as the name index has them. */
  byName: Int32Array;
}

/** What a row mirror copies: the table, its selected columns (alias `t`), and how a row becomes a DTO. */
export interface RowSource<Row> {
  table: string;
  /** The name column (with a `collate nocase` index). */
  nameColumn: string;
  columns: string;
  id: (row: Row) => string;
  name: (row: Row) => string;
  json: (row: Row) => string;
  tie?: (row: Row) => number;
}

const NAME_STEP = 5000;

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

/** Index of `v` in an ascending array, or -1. */
function indexIn(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = sorted[mid];
    if (x === v) return mid;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

class RowBuild<Row> implements Builder<RowSnapshot> {
  private after = Number.NEGATIVE_INFINITY;
  private readonly rowids = floats();
  private readonly tableRowids = floats();
  private readonly starts = ints();
  private readonly ends = ints();
  private readonly ties = floats();
  private readonly ids: string[] = [];
  private readonly names: string[] = [];
  private bytes = Buffer.allocUnsafeSlow(64 * 1024);
  private length = 0;
  /** Name order, read after the rows (null until then). */
  private byName: ReturnType<typeof ints> | null = null;
  finished = false;

  constructor(
    readonly stamp: Buffer,
    private readonly stmt: { page: SQLite.Statement; names: SQLite.Statement },
    private readonly source: RowSource<Row>,
  ) {}

  step(): boolean {
    if (this.byName) return this.nameStep(this.byName);
    const rows = this.stmt.page.all(this.after, ROW_STEP) as (Row & { search_rowid: number; table_rowid: number })[];
    for (const row of rows) {
      const json = this.source.json(row);
      const size = Buffer.byteLength(json);
      if (this.length + size > this.bytes.length) {
        const next = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.length + size));
        this.bytes.copy(next, 0, 0, this.length);
        this.bytes = next;
      }
      this.starts.push(this.length);
      this.length += this.bytes.write(json, this.length);
      this.ends.push(this.length);
      this.rowids.push(row.search_rowid);
      this.tableRowids.push(row.table_rowid);
      this.ties.push(this.source.tie?.(row) ?? 0);
      this.ids.push(this.source.id(row));
      this.names.push(this.source.name(row));
      this.after = row.table_rowid;
    }
    if (rows.length < ROW_STEP) this.byName = ints();
    return true;
  }

  /** One page of the name order (table rowids from the name index); false if a row is unknown. */
  private nameStep(byName: ReturnType<typeof ints>): boolean {
    const page = this.stmt.names.all(NAME_STEP, byName.length) as number[];
    const tableRowids = this.tableRowids.done();
    for (const tableRowid of page) {
      const i = indexIn(tableRowids, tableRowid);
      if (i < 0) return false;
      byName.push(i);
    }
    if (page.length < NAME_STEP) this.finished = true;
    return true;
  }

  snapshot(): RowSnapshot {
    const rowids = this.rowids.done();
    let sorted = true;
    for (let i = 1; i < rowids.length && sorted; i++) sorted = rowids[i - 1] < rowids[i];
    return {
      rowids,
      tableRowids: this.tableRowids.done(),
      starts: this.starts.done(),
      ends: this.ends.done(),
      ties: this.ties.done(),
      ids: this.ids,
      names: this.names,
      bytes:
        this.bytes.length - this.length > this.length / 8
          ? Buffer.from(this.bytes.subarray(0, this.length))
          : this.bytes.subarray(0, this.length),
      byRowid: sorted ? null : new Map(Array.from(rowids, (r, i) => [r, i])),
      byName: (this.byName as ReturnType<typeof ints>).done(),
    };
  }
}

/** One row of a row mirror: its id, its DTO's JSON (a view of the mirror's buffer) and tie value. */
export interface MirroredRow {
  id: string;
  json: Buffer;
  tie: number;
  /** FTS rowid. */
  rowid: number;
}

/** `a` and `b` as SQLite's NOCASE compares them: UTF-8 bytes, ASCII letters folded. */
function compareNocase(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a[i];
    let y = b[i];
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}

/**
 * Every row of a catalog table (tracks, albums, artists) as its search DTO's JSON, so ranked
 * results are sent without reading a row: the FTS mirror names the rows, this one has their bytes,
 * and the names in the name index's order (the broad plan). One buffer outside the JS heap (about
 * 450 bytes a track); fresh while the catalog version (migration 0008) holds, rebuilt in steps
 * when it moves.
 */
export class RowMirror<Row> extends SteppedMirror<RowSnapshot> {
  private readonly version;
  private readonly stmt;

  constructor(
    sqlite: SQLite.Database,
    private readonly source: RowSource<Row>,
  ) {
    super(`${source.table} rows`);
    const { table, nameColumn, columns } = source;
    this.version = sqlite.prepare('select version from catalog_version where id = 1').pluck();
    this.stmt = {
      // In table order (a sequential read), each row with its FTS rowid.
      page: sqlite.prepare(
        `select t.rowid as table_rowid, k.rowid as search_rowid, ${columns}
         from ${table} t join search_keys k on k.item_id = t.id
         where t.rowid > ? order by t.rowid limit ?`,
      ),
      // The name index's order (what the broad plan reads in SQL).
      names: sqlite
        .prepare(`select t.rowid from ${table} t order by t.${nameColumn} collate nocase limit ? offset ?`)
        .pluck(),
    };
  }

  protected readStamp(): Buffer {
    return Buffer.from(String(this.version.get() ?? ''));
  }

  protected startBuild(stamp: Buffer): Builder<RowSnapshot> {
    return new RowBuild(stamp, this.stmt, this.source);
  }

  /** The row with this FTS rowid, if the mirror has it (call only when {@link ready}). */
  get(rowid: number): MirroredRow | undefined {
    const s = this.snapshot as RowSnapshot;
    const i = s.byRowid ? (s.byRowid.get(rowid) ?? -1) : indexIn(s.rowids, rowid);
    return i < 0 ? undefined : this.row(s, i);
  }

  /**
   * The first `n` rows whose name starts with `prefix` (ASCII letters in either case), in name
   * order: what `name >= prefix collate nocase and name < prefix || U+10FFFF` reads from the index.
   */
  startingWith(prefix: string, n: number): MirroredRow[] {
    const s = this.snapshot as RowSnapshot;
    const want = Buffer.from(prefix);
    const nameAt = (k: number) => Buffer.from(s.names[s.byName[k]]);
    let lo = 0;
    let hi = s.byName.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareNocase(nameAt(mid), want) < 0) lo = mid + 1;
      else hi = mid;
    }
    const out: MirroredRow[] = [];
    for (let k = lo; k < s.byName.length && out.length < n; k++) {
      const name = nameAt(k);
      if (name.length < want.length || compareNocase(name.subarray(0, want.length), want) !== 0) break;
      out.push(this.row(s, s.byName[k]));
    }
    return out;
  }

  private row(s: RowSnapshot, i: number): MirroredRow {
    return { id: s.ids[i], json: s.bytes.subarray(s.starts[i], s.ends[i]), tie: s.ties[i], rowid: s.rowids[i] };
  }
}

/**
 * Query words as FTS5's tokenizer folds them (case, diacritics), asked of the tokenizer itself: a
 * new character is indexed in a one-row FTS5 table with the catalog's tokenizer (in a private
 * in-memory database) and read back (~25 µs, then remembered). A word the tokenizer would split
 * is not foldable (`null`): FTS5 treats it as a phrase, which only FTS5 ranks.
 */
export class WordFolder {
  private readonly folds = new Map<string, string | null>();
  /** Per character (a few hundred at most in any library). */
  private readonly chars = new Map<string, string | null>();
  private readonly fold;
  private readonly sqlite: SQLite.Database;

  /** On a connection of its own, in memory: folding writes nothing to the catalog's connection. */
  constructor(tokenize: string) {
    const sqlite = new SQLite(':memory:');
    this.sqlite = sqlite;
    sqlite.exec(`create virtual table if not exists temp.search_fold using fts5(word, ${tokenize})`);
    sqlite.exec(
      'create virtual table if not exists temp.search_fold_terms using fts5vocab(temp, search_fold, instance)',
    );
    const insert = sqlite.prepare('insert into temp.search_fold(rowid, word) values (1, ?)');
    const read = sqlite.prepare('select term from temp.search_fold_terms').pluck();
    const remove = sqlite.prepare('delete from temp.search_fold where rowid = 1');
    this.fold = sqlite.transaction((word: string): string[] => {
      insert.run(word);
      try {
        return read.all() as string[];
      } finally {
        remove.run();
      }
    });
  }

  close(): void {
    this.sqlite.close();
  }

  /** The folded words, or null when one of them is not a single token. */
  foldAll(words: readonly string[]): string[] | null {
    const out: string[] = [];
    for (const w of words) {
      const f = this.foldOne(w);
      if (f === null) return null;
      out.push(f);
    }
    return out.length > 0 ? out : null;
  }

  /**
   * FTS5's unicode61 tokenizer folds one code point at a time (case, then diacritics), so a word
   * folds as its characters do: each new character is asked of the tokenizer once, between two
   * letters ("a" + c + "a": one token "a…a" gives its fold, two tokens mean c separates words).
   */
  private foldOne(word: string): string | null {
    if (PLAIN.test(word)) return word.toLowerCase();
    let f = this.folds.get(word);
    if (f === undefined) {
      f = '';
      for (const c of word) {
        const folded = this.foldChar(c);
        if (folded === null) {
          f = null;
          break;
        }
        f += folded;
      }
      if (f === '') f = null;
      if (this.folds.size >= FOLDS_KEPT) this.folds.clear();
      this.folds.set(word, f);
    }
    return f;
  }

  private foldChar(c: string): string | null {
    if (c.length === 1 && c.charCodeAt(0) < 128) return PLAIN.test(c) ? c.toLowerCase() : null;
    let f = this.chars.get(c);
    if (f === undefined) {
      const tokens = this.fold(`a${c}a`);
      f = tokens.length === 1 && tokens[0].startsWith('a') && tokens[0].endsWith('a') ? tokens[0].slice(1, -1) : null;
      this.chars.set(c, f);
    }
    return f;
  }
}

/**
 * The reader thread's mirrors: checks them when the database changed and rebuilds stale ones in
 * steps between queries (the thread stays free to answer; a step is a few milliseconds).
 */
export class MirrorKeeper {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;

  /** `onReady`: called each time every mirror has become current. */
  constructor(
    private readonly mirrors: readonly SteppedMirror<unknown>[],
    private readonly onReady: () => void = () => {},
  ) {}

  /** The database changed: compare each mirror with its index, schedule rebuilds. */
  changed(): void {
    this.stopped = false;
    const now = Date.now();
    for (const m of this.mirrors) m.check(now);
    this.schedule();
  }

  /** Start (or continue) keeping the mirrors current. */
  schedule(): void {
    if (this.running || this.stopped) return;
    const now = Date.now();
    if (this.mirrors.some((m) => m.wantsWork(now))) {
      this.running = true;
      setImmediate(() => this.run());
    } else if (this.mirrors.some((m) => !m.ready) && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        for (const m of this.mirrors) if (!m.ready) m.check(Date.now());
        this.schedule();
      }, QUIET_MS);
      this.timer.unref();
    }
  }

  private run(): void {
    if (this.stopped) {
      this.running = false;
      return;
    }
    const now = Date.now();
    let more = false;
    for (const m of this.mirrors) {
      if (m.wantsWork(now)) {
        more = m.work(now);
        break; // one step per turn: queries queued meanwhile go first
      }
    }
    this.running = false;
    if (!more && this.mirrors.every((m) => m.ready)) this.onReady();
    if (more || this.mirrors.some((m) => m.wantsWork(Date.now()))) {
      this.running = true;
      setImmediate(() => this.run());
    } else this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const m of this.mirrors) m.clear();
  }
}
