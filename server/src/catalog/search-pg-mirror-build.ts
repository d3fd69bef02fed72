/**
 * Building the PostgreSQL search mirror (search-pg-mirror.ts): one section's rows (their DTO
 * JSON, tie values and names in the name index's order) and its terms (the lexemes and positions
 * of migration 0019's `tsvector`s, as PostgreSQL stores them), read in pages of a consistent
 * snapshot (a repeatable-read transaction: the catalog version read first names exactly what was
 * read). The build is sliced without a scheduler of its own: every loop gives the event loop back
 * after a few milliseconds (requests run between slices), and the lexemes come sorted by
 * PostgreSQL, so nothing large is sorted in one go.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { Packed, type RankTables, type TermIndex, weightsOf } from './search-pg-rank.js';
import { floats, Grow, indexIn, ints } from './search-stepped.js';

/** Rows per page (a few milliseconds of parsing). */
const PAGE = 500;
/** Longest stretch of building between two turns of the event loop. */
const SLICE_MS = 3;

/** Yields to the event loop once SLICE_MS of work went by since the last time (requests go first). */
class Slicer {
  private since = performance.now();
  private n = 0;

  tick(): Promise<void> | null {
    if ((++this.n & 63) !== 0 || performance.now() - this.since < SLICE_MS) return null;
    return new Promise((resolve) =>
      setImmediate(() => {
        this.since = performance.now();
        resolve();
      }),
    );
  }
}

/** One section's rows, in insertion (`seq`) order, and its terms. */
export interface PgSectionSnapshot {
  seqs: Float64Array;
  ids: Packed;
  /** Row i's DTO JSON: bytes[starts[i], ends[i]) (not kept for genres: `dtos` instead). */
  bytes: Buffer;
  starts: Int32Array;
  ends: Int32Array;
  ties: Float64Array;
  names: Packed;
  /** Row indexes in `order by name collate nocase, id` (the broad plan's order). */
  byName: Int32Array;
  /** Whether this runtime's ICU orders the names as PostgreSQL did (else broad queries go to SQL). */
  nameOrderAgrees: boolean;
  terms: TermIndex;
  tables: RankTables;
}

/** What a section is built from. */
export interface PgSectionSource {
  table: string;
  search: string;
  nameColumn: string;
  /** Selected columns (alias `t`). */
  columns: string;
  json: (row: Record<string, unknown>) => string;
  tie?: (row: Record<string, unknown>) => number;
  /** ts_rank's weights as the SQL plan passes them. */
  weights: string;
}

/** The case-insensitive ICU order of migration 0003's `nocase` collation (`und-u-ks-level2`). */
export const NOCASE = new Intl.Collator('und', { sensitivity: 'accent' });

const WEIGHT: Record<string, number> = { A: 3, B: 2, C: 1, D: 0 };

/**
 * A stored tsvector's text (`'word':1A,3 'other':2B`) as lexemes and WordEntryPos values, in the
 * tsvector's order; calls `lexeme` then `position` for each. Throws on a lexeme without positions
 * (migration 0019's documents always have them; the mirror then stays unbuilt).
 */
export function parseTsvector(text: string, lexeme: (word: string) => void, position: (wep: number) => void): void {
  let i = 0;
  const n = text.length;
  while (i < n) {
    if (text[i] === ' ') {
      i++;
      continue;
    }
    if (text[i] !== "'") throw new Error(`unexpected tsvector text at ${i}`);
    let word = '';
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error('unterminated lexeme');
      if (c === "'" || c === '\\') {
        if (text[i + 1] === c) {
          word += c;
          i += 2;
          continue;
        }
        if (c === "'") break;
      }
      word += c;
      i++;
    }
    i++; // closing quote
    lexeme(word);
    if (text[i] !== ':') throw new Error('lexeme without positions');
    i++;
    for (;;) {
      let pos = 0;
      while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) pos = pos * 10 + text.charCodeAt(i++) - 48;
      const w = WEIGHT[text[i]];
      if (w !== undefined) i++;
      position(((w ?? 0) << 14) | pos);
      if (text[i] !== ',') break;
      i++;
    }
  }
}

/** PostgreSQL's own libm results for ts_rank (search-pg-rank.ts), for lengths up to `maxLength`. */
async function rankTables(trx: Transaction<Database>, weights: string, maxLength: number): Promise<RankTables> {
  const { rows } = await sql<{ norm: number[]; wd: number[] }>`select
      (select array_agg(ln((n + 1)::float8) / ln(2::float8) order by n) from generate_series(0, ${maxLength}) n) as norm,
      (select array_agg(((1.0::float8 / (1.005::float8 + 0.05::float8 * exp(d::float4::float8 / 1.5::float8 - 2::float8)))::float4)::float8 order by d)
         from generate_series(0, 100) d) as wd`.execute(trx);
  const row = rows[0];
  return {
    weights: weightsOf(weights),
    norm: Float64Array.from(row.norm.map(Number)),
    wordDistance: Float64Array.from(row.wd.map(Number)),
  };
}

/** Builds one section from the transaction's snapshot (module comment). */
export async function buildSection(trx: Transaction<Database>, source: PgSectionSource): Promise<PgSectionSnapshot> {
  const seqs = floats();
  const ties = floats();
  const starts = ints();
  const ends = ints();
  const ids: string[] = [];
  const names: string[] = [];
  let bytes = Buffer.allocUnsafeSlow(64 * 1024);
  let length = 0;
  const slicer = new Slicer();
  // The lexemes in byte (= code point) order, sorted by PostgreSQL: a term's id is its rank.
  const { rows: lexemes } = await sql<{ w: string }>`select w from
      (select distinct u.lexeme as w from ${sql.table(source.search)} s, unnest(s.doc) u) d
      order by w collate "C"`.execute(trx);
  const terms: string[] = new Array(lexemes.length);
  const termIds = new Map<string, number>();
  for (let t = 0; t < lexemes.length; t++) {
    terms[t] = lexemes[t].w;
    termIds.set(terms[t], t);
    const pause = slicer.tick();
    if (pause) await pause;
  }
  const entryStart = ints();
  const entryTerm = ints();
  const entryPos = ints();
  const positions = new Grow(new Uint16Array(0), (n) => new Uint16Array(n));
  let maxLength = 0;
  let after = -1;
  for (;;) {
    const { rows } = await sql<Record<string, unknown> & { __seq: string; __doc: string }>`select
        s.seq::text as __seq, s.doc::text as __doc, ${sql.raw(source.columns)}
        from ${sql.table(source.search)} s join ${sql.table(source.table)} t on t.id = s.id
        where s.seq > ${after} order by s.seq limit ${PAGE}`.execute(trx);
    for (const row of rows) {
      const seq = Number(row.__seq);
      const doc = row.__doc;
      delete (row as Record<string, unknown>).__seq;
      delete (row as Record<string, unknown>).__doc;
      const json = source.json(row);
      const size = Buffer.byteLength(json);
      if (length + size > bytes.length) {
        const next = Buffer.allocUnsafeSlow(Math.max(bytes.length * 2, length + size));
        bytes.copy(next, 0, 0, length);
        bytes = next;
      }
      starts.push(length);
      length += bytes.write(json, length);
      ends.push(length);
      seqs.push(seq);
      ties.push(source.tie?.(row) ?? 0);
      ids.push(String(row.id));
      names.push(String(row[source.nameColumn] ?? ''));
      entryStart.push(entryTerm.length);
      const first = positions.length;
      parseTsvector(
        doc,
        (word) => {
          const id = termIds.get(word);
          if (id === undefined) throw new Error(`${source.search}: a lexeme missing from its own snapshot`);
          entryTerm.push(id);
          entryPos.push(positions.length);
        },
        (wep) => positions.push(wep),
      );
      maxLength = Math.max(maxLength, positions.length - first);
      after = seq;
      const pause = slicer.tick();
      if (pause) await pause;
    }
    if (rows.length < PAGE) break;
  }
  entryStart.push(entryTerm.length);
  entryPos.push(positions.length);
  const n = ids.length;
  const seqArray = seqs.done();

  const entryTerms = entryTerm.done();
  const entryStarts = entryStart.done();
  const postStart = new Int32Array(terms.length + 1);
  for (let e = 0; e < entryTerms.length; e++) postStart[entryTerms[e] + 1]++;
  for (let t = 0; t < terms.length; t++) postStart[t + 1] += postStart[t];
  const fill = postStart.slice(0, terms.length);
  const postRows = new Int32Array(entryTerms.length);
  for (let r = 0; r < n; r++) {
    for (let e = entryStarts[r]; e < entryStarts[r + 1]; e++) postRows[fill[entryTerms[e]]++] = r;
    const pause = slicer.tick();
    if (pause) await pause;
  }

  // The broad plan's name order, as PostgreSQL sorts it.
  const { rows: order } = await sql<{ seq: string }>`select s.seq::text as seq from ${sql.table(source.table)} t
      join ${sql.table(source.search)} s on s.id = t.id
      order by t.${sql.raw(source.nameColumn)} collate nocase, t.id`.execute(trx);
  const byName = new Int32Array(order.length);
  let nameOrderAgrees = order.length === n;
  for (let k = 0; k < order.length; k++) {
    const i = indexIn(seqArray, Number(order[k].seq));
    if (i < 0) throw new Error(`${source.table}: a row in name order is not in the mirror`);
    byName[k] = i;
    if (k > 0 && nameOrderAgrees) nameOrderAgrees = NOCASE.compare(names[byName[k - 1]], names[i]) <= 0;
    const pause = slicer.tick();
    if (pause) await pause;
  }

  return {
    seqs: seqArray,
    ids: new Packed(ids),
    bytes: Buffer.from(bytes.subarray(0, length)),
    starts: starts.done(),
    ends: ends.done(),
    ties: ties.done(),
    names: new Packed(names),
    byName,
    nameOrderAgrees,
    terms: {
      terms: new Packed(terms),
      postStart,
      postRows,
      entryStart: entryStarts,
      entryTerm: entryTerms,
      entryPos: entryPos.done(),
      positions: positions.done(),
    },
    tables: await rankTables(trx, source.weights, maxLength),
  };
}

/** Runs `body` in one read-only repeatable-read transaction (one consistent snapshot) and the catalog version it saw. */
export async function inSnapshot<T>(
  db: Kysely<Database>,
  body: (trx: Transaction<Database>) => Promise<T>,
): Promise<{ version: string; value: T }> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      const { rows } = await sql<{
        v: string | number | null;
      }>`select version as v from catalog_version where id = 1`.execute(trx);
      const version = String(rows[0]?.v ?? '');
      return { version, value: await body(trx) };
    });
}
