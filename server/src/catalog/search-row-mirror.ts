/**
 * The row mirror: every row of a catalog table (tracks, albums, artists) as its search DTO's JSON
 * in one buffer outside the JS heap, plus the names in the name index's order (the broad plan),
 * so ranked results are sent without reading a row (README.md here, "In-memory mirrors").
 */
import type SQLite from 'better-sqlite3';
import { type Builder, floats, indexIn, ints, SteppedMirror } from './search-stepped.js';

/** Catalog rows per build step (a few ms). */
const ROW_STEP = 200;
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
    const i = this.indexOf(rowid);
    return i < 0 ? undefined : this.row(this.snapshot as RowSnapshot, i);
  }

  /** The index of the row with this FTS rowid, -1 if the mirror lacks it (call only when {@link ready}). */
  indexOf(rowid: number): number {
    const s = this.snapshot as RowSnapshot;
    return s.byRowid ? (s.byRowid.get(rowid) ?? -1) : indexIn(s.rowids, rowid);
  }

  /** Row `i`'s tie value (an index from {@link indexOf}). */
  tieAt(i: number): number {
    return (this.snapshot as RowSnapshot).ties[i];
  }

  /**
   * Row `i` as a search result (search-json.ts `Item`): its id, no DTO object, its DTO's JSON (a
   * view of the mirror's buffer) and tie value.
   */
  resultAt(i: number): { id: string; dto: null; json: Buffer; tie: number } {
    const s = this.snapshot as RowSnapshot;
    return { id: s.ids[i], dto: null, json: s.bytes.subarray(s.starts[i], s.ends[i]), tie: s.ties[i] };
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
