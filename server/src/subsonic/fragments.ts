/**
 * Songs, albums and artists as pre-rendered list items (envelope.ts `Fragment`) for the lists
 * apps ask for again and again (search3, getAlbumList2). An item the caller never starred, rated
 * or played looks the same to every user, so its JSON or XML is written once per catalog row and
 * reused for as long as that row object lives: the rows of catalog-cache.ts are kept only while
 * the catalog version holds, so a fragment can never outlive a change (a rename makes a new row,
 * hence a new fragment). Items the caller has annotated are built afresh on every request.
 *
 * Kept in WeakMaps keyed by the row objects, so they need no bound or invalidation of their own:
 * a row dropped from the catalog cache takes its text with it. A row read for one request only
 * (a per-user list) gets a fragment that dies with it, rendered once as its node would be.
 */
import type { AlbumRow, Annotation, ArtistRow } from '../catalog/browse.repository.js';
import type { CachedSong, Maybe } from './catalog-cache.js';
import type { Ctx } from './context.js';
import { Fragment, type Node } from './envelope.js';
import { albumNode, artistId3Node, songNode } from './mappers.js';

/** A list entry: a pre-rendered item, or a node built for this request. */
export type Item = Node | Fragment;

const NO_ANNOTATIONS = new Map<string, Annotation>();
const songFragments = new WeakMap<CachedSong, Fragment>();
const albumFragments = new WeakMap<AlbumRow, Fragment>();
const artistFragments = new WeakMap<ArtistRow, Fragment>();

function kept<K extends object>(map: WeakMap<K, Fragment>, key: K, build: () => Node): Fragment {
  let fragment = map.get(key);
  if (fragment === undefined) {
    fragment = new Fragment(build);
    map.set(key, fragment);
  }
  return fragment;
}

/**
 * Child items with the caller's annotations (one query per section, skipped for users with none:
 * then the items are at hand, with no promise).
 */
export function songItems(ctx: Ctx, songs: CachedSong[]): Maybe<Item[]> {
  if (songs.length === 0) return [];
  const ids: string[] = [];
  for (const s of songs) ids.push(s.row.id);
  const ann = ctx.deps.cache.annotations(ctx.user.id, 'track', ids);
  return ann instanceof Promise ? ann.then((a) => songsWith(songs, a)) : songsWith(songs, ann);
}

function songsWith(songs: CachedSong[], ann: Map<string, Annotation>): Item[] {
  const out: Item[] = [];
  for (const s of songs) {
    out.push(
      ann.has(s.row.id)
        ? songNode(s.row, ann, s.credits, s.genres)
        : kept(songFragments, s, () => songNode(s.row, NO_ANNOTATIONS, s.credits, s.genres)),
    );
  }
  return out;
}

/** AlbumID3 items with the caller's annotations. */
export function albumItems(ctx: Ctx, rows: AlbumRow[]): Maybe<Item[]> {
  if (rows.length === 0) return [];
  const ann = ctx.deps.cache.annotations(ctx.user.id, 'album', idsOf(rows));
  return ann instanceof Promise ? ann.then((a) => albumsWith(rows, a)) : albumsWith(rows, ann);
}

function albumsWith(rows: AlbumRow[], ann: Map<string, Annotation>): Item[] {
  const out: Item[] = [];
  for (const r of rows) {
    const a = ann.get(r.id);
    out.push(a ? albumNode(r, a) : kept(albumFragments, r, () => albumNode(r, undefined)));
  }
  return out;
}

/** ArtistID3 items with the caller's annotations. */
export function artistItems(ctx: Ctx, rows: ArtistRow[]): Maybe<Item[]> {
  if (rows.length === 0) return [];
  const ann = ctx.deps.cache.annotations(ctx.user.id, 'artist', idsOf(rows));
  return ann instanceof Promise ? ann.then((a) => artistsWith(rows, a)) : artistsWith(rows, ann);
}

function artistsWith(rows: ArtistRow[], ann: Map<string, Annotation>): Item[] {
  const out: Item[] = [];
  for (const r of rows) {
    const a = ann.get(r.id);
    out.push(a ? artistId3Node(r, a) : kept(artistFragments, r, () => artistId3Node(r, undefined)));
  }
  return out;
}

function idsOf(rows: readonly { id: string }[]): string[] {
  const ids: string[] = [];
  for (const r of rows) ids.push(r.id);
  return ids;
}
