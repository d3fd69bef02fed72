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
const jsonOf = <Dto>(item: Item<Dto>): string | Buffer => item.json ?? JSON.stringify(item.dto);

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
 * mirror), so results that come back query after query are not serialized again.
 */
export function assembleJson(items: RankedItems): RankedJson {
  const parts: (string | Buffer)[] = ['{"tracks":['];
  const list = <Dto>(xs: Item<Dto>[], after: string) => {
    for (let i = 0; i < xs.length; i++) {
      if (i > 0) parts.push(',');
      parts.push(jsonOf(xs[i]));
    }
    parts.push(after);
  };
  list(items.tracks, '],"albums":[');
  list(items.albums, '],"artists":[');
  list(items.artists, `],"genres":${JSON.stringify(items.genres)}}`);
  return {
    json: joinBytes(parts),
    ids: {
      tracks: items.tracks.map((i) => i.id),
      albums: items.albums.map((i) => i.id),
      artists: items.artists.map((i) => i.id),
    },
  };
}

/** Strings and byte views as one UTF-8 buffer with its own ArrayBuffer (transferable). */
function joinBytes(parts: (string | Buffer)[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += typeof p === 'string' ? Buffer.byteLength(p) : p.length;
  const out = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const p of parts) {
    if (typeof p === 'string') at += out.write(p, at);
    else {
      out.set(p, at); // a typed-array copy: cheaper than Buffer#copy for small parts
      at += p.length;
    }
  }
  return out;
}
