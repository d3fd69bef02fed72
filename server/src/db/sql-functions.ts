/**
 * SQL functions Earshot's schema calls, registered on every connection that writes the catalog
 * (`openDatabase` does it). The search index triggers (migration 0017) call {@link SEARCH_FOLD},
 * so a connection without it cannot insert or update a track, album, artist or genre: SQLite
 * answers "no such function: earshot_nfkc" and writes nothing (db/README.md).
 */
import type SQLite from 'better-sqlite3';

/** Unicode NFKC of a text (NULL stays NULL): how titles are indexed for search and how queries are folded. */
export const SEARCH_FOLD = 'earshot_nfkc';

/** NFKC: fullwidth "ＡＢＣ" → "ABC", "ﬁ" → "fi", "𝐁𝐨𝐥𝐝" → "Bold", "x²" → "x2", "ｶﾞ" → "ガ". */
export const searchFold = (text: string): string => text.normalize('NFKC');

export function registerSqlFunctions(sqlite: SQLite.Database): void {
  // Deterministic: SQLite may evaluate it once per row and value; never touches the database.
  sqlite.function(SEARCH_FOLD, { deterministic: true }, (value: unknown) =>
    typeof value === 'string' ? searchFold(value) : value,
  );
}
