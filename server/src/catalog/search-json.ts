/**
 * The JSON assembler of local search: either plan's results (search-sql-plan.ts,
 * search-mirror-plan.ts) as the UTF-8 JSON of the search response (`liked: false` throughout)
 * and the ids that need liked flags. The DTO builders (dto.ts) put keys in schema order, so these
 * bytes are what the route's serializer would make of the same answer (tested). Bytes rather than
 * a string: they move between threads without a copy, stay off the JS heap while cached (nothing
 * for the garbage collector to copy), and are written to sockets without encoding.
 */
import type { AlbumDto, ArtistDto, TrackDto } from './dto.js';
import type { Scored } from './search-fts-mirror.js';
import type { GenreDto, Ranked } from './search-ranker.js';

export interface RankedJson {
  json: Uint8Array;
  ids: { tracks: string[]; albums: string[]; artists: string[] };
}

/**
 * One result: its id and its DTO (`liked: false`) as an object or as JSON. Mirror-ranked results
 * are kept as JSON only (bytes from the row mirror): nothing to build or serialize per answer.
 */
export interface Item<Dto> {
  id: string;
  dto: Dto | null;
  /** A string, or bytes from a row mirror. */
  json: string | Buffer | null;
  /** Tie-break value (artists: track count). */
  tie: number;
}

/** A plan's answer before assembly. */
export interface RankedItems {
  tracks: Item<TrackDto>[];
  albums: Item<AlbumDto>[];
  artists: Item<ArtistDto>[];
  genres: GenreDto[];
}

export const dtoOf = <Dto>(item: Item<Dto>): Dto => item.dto ?? (JSON.parse(String(item.json)) as Dto);

/**
 * `scored` (FTS rowids, best first) as items, cut to `limit`: with `tie`, ties in score go to the
 * item's tie value (higher first), then FTS rowid. Rows gone meanwhile are left out.
 */
export function inScoreOrder<Dto>(
  scored: Scored[],
  itemOf: (rowid: number) => Item<Dto> | undefined,
  limit: number,
  tie: boolean,
): Item<Dto>[] {
  const found: { item: Item<Dto>; score: number; at: number }[] = [];
  for (let i = 0; i < scored.length; i++) {
    const item = itemOf(scored[i].rowid);
    if (item) found.push({ item, score: scored[i].score, at: i });
  }
  if (tie) found.sort((a, b) => a.score - b.score || b.item.tie - a.item.tie || a.at - b.at);
  return found.slice(0, limit).map((f) => f.item);
}

/** The answer as DTO objects. */
export function toRanked(items: RankedItems): Ranked {
  return {
    tracks: items.tracks.map(dtoOf),
    albums: items.albums.map(dtoOf),
    artists: items.artists.map(dtoOf),
    genres: items.genres,
  };
}

const utf8 = new TextEncoder();

/** {@link assembleJson} of an answer held as objects. */
export function toRankedJson(ranked: Ranked): RankedJson {
  return {
    // TextEncoder gives a Uint8Array with its own ArrayBuffer (transferable), never a pooled slice.
    json: utf8.encode(JSON.stringify(ranked)),
    ids: {
      tracks: ranked.tracks.map((t) => t.id),
      albums: ranked.albums.map((a) => a.id),
      artists: ranked.artists.map((a) => a.id),
    },
  };
}

/**
 * The answer's JSON bytes: each result's JSON is made once and kept with it (or comes from a row
 * mirror), so results that come back query after query are not serialized again. The bytes are
 * counted, then written into one buffer (no list of parts per answer: less garbage per miss).
 */
export function assembleJson(items: RankedItems): RankedJson {
  const genres = JSON.stringify(items.genres);
  const { tracks, albums, artists } = items;
  // A result held as an object is serialized once here; the rest are text or bytes already.
  const texts: Texts = { of: null };
  const size =
    TRACKS_OPEN.length +
    sizeOf(tracks, texts) +
    ALBUMS_OPEN.length +
    sizeOf(albums, texts) +
    ARTISTS_OPEN.length +
    sizeOf(artists, texts) +
    GENRES_OPEN.length +
    Buffer.byteLength(genres) +
    1;
  // Its own ArrayBuffer (transferable between threads), never a pooled slice.
  const out = Buffer.allocUnsafeSlow(size);
  let at = out.write(TRACKS_OPEN, 0, 'latin1');
  at = writeList(out, at, tracks, texts);
  at += out.write(ALBUMS_OPEN, at, 'latin1');
  at = writeList(out, at, albums, texts);
  at += out.write(ARTISTS_OPEN, at, 'latin1');
  at = writeList(out, at, artists, texts);
  at += out.write(GENRES_OPEN, at, 'latin1');
  at += out.write(genres, at);
  out[at] = 0x7d; // }
  return {
    json: out,
    ids: { tracks: idsOf(tracks), albums: idsOf(albums), artists: idsOf(artists) },
  };
}

const TRACKS_OPEN = '{"tracks":[';
const ALBUMS_OPEN = '],"albums":[';
const ARTISTS_OPEN = '],"artists":[';
const GENRES_OPEN = '],"genres":';

/** The JSON of results held as objects (SQL plan), made while counting (none for mirror results). */
interface Texts {
  of: Map<Item<unknown>, string> | null;
}

/** Bytes of a list's results and the commas between them. */
function sizeOf<Dto>(xs: Item<Dto>[], texts: Texts): number {
  let size = Math.max(0, xs.length - 1);
  for (let i = 0; i < xs.length; i++) {
    const json = xs[i].json;
    if (json === null) {
      const text = JSON.stringify(xs[i].dto);
      texts.of ??= new Map();
      texts.of.set(xs[i], text);
      size += Buffer.byteLength(text);
    } else size += typeof json === 'string' ? Buffer.byteLength(json) : json.length;
  }
  return size;
}

function writeList<Dto>(out: Buffer, at: number, xs: Item<Dto>[], texts: Texts): number {
  for (let i = 0; i < xs.length; i++) {
    if (i > 0) out[at++] = 0x2c; // ,
    const json = xs[i].json ?? (texts.of?.get(xs[i]) as string);
    if (typeof json === 'string') at += out.write(json, at);
    else {
      out.set(json, at); // a typed-array copy: cheaper than Buffer#copy for small parts
      at += json.length;
    }
  }
  return at;
}

function idsOf<Dto>(xs: Item<Dto>[]): string[] {
  const ids: string[] = new Array(xs.length);
  for (let i = 0; i < xs.length; i++) ids[i] = xs[i].id;
  return ids;
}
