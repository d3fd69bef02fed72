/**
 * Query words folded as FTS5's `unicode61 remove_diacritics 2` tokenizer folds them, so the
 * in-memory FTS mirrors can look them up among the index's own terms (README.md here, "Word
 * folding").
 */
import SQLite from 'better-sqlite3';

/** Words FTS5 folds to lower case and nothing else (no need to ask the tokenizer). */
const PLAIN = /^[A-Za-z0-9]+$/;
/** Folded words remembered (search-as-you-type repeats them). */
const FOLDS_KEPT = 4096;

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
