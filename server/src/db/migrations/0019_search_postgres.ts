/**
 * 0019 — local search on PostgreSQL (catalog/README.md, "Search on PostgreSQL"); a no-op on SQLite,
 * whose FTS5 index (0003, 0006, 0017) stays as it is.
 *
 * One search table per kind (`search_tracks`, `search_albums`, `search_artists`, `search_genres`),
 * as FTS5 has one virtual table per kind: the item's id, an insertion sequence (ties in rank go by
 * it, as they go by the FTS rowid on SQLite) and a `tsvector` with a GIN index. The text is folded
 * the way the FTS5 index folds it, a little further: Unicode NFKC (as 0017), accents removed with
 * the `unaccent` extension, lower case for every script (ICU), and every run of characters that
 * are not letters or digits turned into a space, so words split where FTS5's `unicode61` splits
 * them (the default parser would keep "ac/dc" or "1.5" whole). Weights mirror FTS5's bm25 column
 * weights: tracks title A, artist B, album C, genre D; albums name A, album artist B, genre D;
 * artists and genres name A.
 *
 * Row triggers keep the tables current for every writer (the scanner, remote sources, edits,
 * `earshot migrate-db`), so no writer has to know about search; deleting a catalog row deletes
 * its search row (foreign key, cascade).
 *
 * `unaccent` ships with PostgreSQL (Debian: postgresql-15, elsewhere postgresql-contrib) and is a
 * trusted extension since PostgreSQL 13: the database's owner may create it. A role that cannot
 * (a managed database where Earshot's role is not the owner) gets an error naming the one line a
 * privileged role runs first: `create extension unaccent;`.
 */
import { type Kysely, sql } from 'kysely';
import { engineOf, inTransaction } from '../engine.js';

/** PostgreSQL-only tables of this migration (not in the typed schema: only search reads them). */
export const PG_SEARCH_TABLES = ['search_tracks', 'search_albums', 'search_artists', 'search_genres'] as const;

interface Kind {
  table: string;
  search: (typeof PG_SEARCH_TABLES)[number];
  /** Catalog column → tsvector weight. */
  weights: Record<string, 'A' | 'B' | 'C' | 'D'>;
}

const KINDS: Kind[] = [
  { table: 'tracks', search: 'search_tracks', weights: { title: 'A', artist: 'B', album: 'C', genre: 'D' } },
  { table: 'albums', search: 'search_albums', weights: { name: 'A', album_artist: 'B', genre: 'D' } },
  { table: 'artists', search: 'search_artists', weights: { name: 'A' } },
  { table: 'genres', search: 'search_genres', weights: { name: 'A' } },
];

export const UNACCENT_MISSING =
  'Search on PostgreSQL needs the unaccent extension in this database. Ask its owner or a superuser to run ' +
  '`create extension unaccent;` in it (it ships with PostgreSQL: Debian postgresql-15, else postgresql-contrib), ' +
  'then start Earshot again';

async function ensureUnaccent(db: Kysely<unknown>): Promise<string> {
  const schemaOf = async () =>
    (
      await sql<{
        schema: string;
      }>`select extnamespace::regnamespace::text as schema from pg_extension where extname = 'unaccent'`.execute(db)
    ).rows[0]?.schema;
  const existing = await schemaOf();
  if (existing) return existing;
  const available = await sql`select 1 from pg_available_extensions where name = 'unaccent'`.execute(db);
  if (available.rows.length === 0) throw new Error(`${UNACCENT_MISSING} (the server has no unaccent extension)`);
  // A savepoint: a refused `create extension` must not abort the migration's transaction before
  // the clear error below is thrown.
  await sql`savepoint earshot_unaccent`.execute(db);
  try {
    await sql`create extension if not exists unaccent`.execute(db);
  } catch (error) {
    await sql`rollback to savepoint earshot_unaccent`.execute(db);
    throw new Error(`${UNACCENT_MISSING} (${(error as Error).message})`, { cause: error });
  }
  await sql`release savepoint earshot_unaccent`.execute(db);
  return (await schemaOf()) ?? 'public';
}

export async function up(db: Kysely<unknown>): Promise<void> {
  if (engineOf(db) !== 'postgres') return;
  await inTransaction(db, async (trx) => {
    const run = (text: string) => sql.raw(text).execute(trx);
    const ext = `"${(await ensureUnaccent(trx)).replaceAll('"', '""')}"`;
    // The folded text of one column (immutable, so it may feed an index; ICU for case and classes).
    await run(
      `create function earshot_search_text(t text) returns text language sql immutable strict parallel safe as $$
         select regexp_replace(
           lower(${ext}.unaccent('${ext}.unaccent'::regdictionary, normalize(t, nfkc)) collate "und-x-icu"),
           '[^[:alnum:]]+', ' ', 'g')
       $$`,
    );
    // Lexemes are the folded words themselves, split on the spaces above, so words split exactly
    // where the query's do (the text-search parser would read "2e9b" as a number and a word, or
    // keep "ac/dc" whole). Words hold letters and digits only; quotes and backslashes are escaped
    // all the same. Words longer than a lexeme may be are left out (nobody types 2,000 letters).
    const lexeme = `'''' || replace(replace(w, '\\', '\\\\'), '''', '''''') || ''''`;
    const wordsOf = (text: string) =>
      `unnest(string_to_array(btrim(earshot_search_text(${text})), ' ')) with ordinality as u(w, i)
       where w <> '' and octet_length(w) < 2048`;
    // One column's text as a tsvector: each word at its position, with the column's weight.
    await run(
      `create function earshot_search_doc(t text, weight text) returns tsvector
       language sql immutable parallel safe as $$
         select coalesce(string_agg(${lexeme} || ':' || least(i, 16383) || weight, ' '), '')::tsvector
         from ${wordsOf('t')}
       $$`,
    );
    // Typed words as a tsquery: every folded word a prefix term, all required (`'w1':* & 'w2':*`),
    // or with a weight only that column (`:*A`, names).
    await run(
      `create function earshot_search_query(words text, weight text default '') returns tsquery
       language sql immutable strict parallel safe as $$
         select coalesce(string_agg(${lexeme} || ':*' || weight, ' & '), '')::tsquery
         from ${wordsOf('words')}
       $$`,
    );
    for (const { table, search, weights } of KINDS) {
      const columns = Object.keys(weights);
      const doc = (p: string) => columns.map((c) => `earshot_search_doc(${p}.${c}, '${weights[c]}')`).join(' || ');
      await run(
        `create table ${search} (
           id text primary key references ${table}(id) on delete cascade on update cascade,
           seq bigserial not null,
           doc tsvector not null)`,
      );
      await run(`create index ${search}_doc on ${search} using gin (doc)`);
      // Insertion order: ties and the broad plan's "other matches" go by it.
      await run(`create unique index ${search}_seq on ${search} (seq)`);
      await run(
        `create function ${search}_sync() returns trigger language plpgsql as $$ begin
           insert into ${search} (id, doc) values (new.id, ${doc('new')})
           on conflict (id) do update set doc = excluded.doc;
           return null;
         end $$`,
      );
      await run(
        `create trigger ${table}_search_insert after insert on ${table} for each row execute function ${search}_sync()`,
      );
      await run(
        `create trigger ${table}_search_update after update of ${columns.join(', ')} on ${table}
         for each row execute function ${search}_sync()`,
      );
      // Rows that existed before this migration (in id order: their insertion order is not known).
      await run(`insert into ${search} (id, doc) select t.id, ${doc('t')} from ${table} t order by t.id`);
    }
  });
}
