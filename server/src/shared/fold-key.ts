/**
 * The folded form of a name that groups and matches names alike on every engine: the scanner keys
 * artists, albums and genres by it (library/tags.ts), and the catalog matches a genre or an
 * artist a client typed by it, because SQLite's `collate nocase` folds ASCII case only and
 * PostgreSQL's comparisons fold no accents (subsonic/folding.test.ts).
 */

/** Case-, width- and diacritics-folded key used to group names ("Beyoncé" = "beyonce"). */
export function foldKey(name: string): string {
  // Printable ASCII (most tags) has nothing to decompose or strip: the same key, ~5× cheaper
  // (the scan folds every artist, album and genre name of every file).
  if (PRINTABLE_ASCII.test(name)) return name.toLowerCase().replace(/ {2,}/g, ' ').trim();
  return name.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
