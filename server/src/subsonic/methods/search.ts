/**
 * search2 / search3 (and the deprecated `search`). An empty query (`query=` or `query=""`) lists
 * the whole library, paged, in a stable order: that is how Symfonium and others sync offline.
 * A real query goes through the catalog search (FTS5, the same ranking as the web app).
 */
import type { ArtistRow } from '../../catalog/browse.repository.js';
import { allOf, type CachedSong } from '../catalog-cache.js';
import type { Ctx, Method } from '../context.js';
import { albumItems, artistItems, type Item, songItems } from '../fragments.js';
import { albumDirNode, artistNode } from '../mappers.js';
import { remoteSongs } from '../remote.js';

const MAX_PAGE = 500;

interface Paging {
  artistCount: number;
  artistOffset: number;
  albumCount: number;
  albumOffset: number;
  songCount: number;
  songOffset: number;
}

function paging(ctx: Ctx): Paging {
  const p = ctx.params;
  return {
    artistCount: p.int('artistCount', 20, { min: 0, max: MAX_PAGE }),
    artistOffset: p.int('artistOffset', 0, { min: 0 }),
    albumCount: p.int('albumCount', 20, { min: 0, max: MAX_PAGE }),
    albumOffset: p.int('albumOffset', 0, { min: 0 }),
    songCount: p.int('songCount', 20, { min: 0, max: MAX_PAGE }),
    songOffset: p.int('songOffset', 0, { min: 0 }),
  };
}

function isEmptyQuery(q: string): boolean {
  const t = q.trim();
  return t === '' || t === '""' || t === "''" || t === '*';
}

async function find(ctx: Ctx, query: string, pg: Paging) {
  const b = ctx.deps.browse;
  const c = ctx.deps.cache;
  if (isEmptyQuery(query)) {
    // A sync pages through everything: the id orders are kept (no OFFSET scan per page), a page
    // is a slice of them read by primary key (rows kept for albums and artists, the small kinds).
    const page = async (key: string, load: () => Promise<string[]>, count: number, offset: number) =>
      count ? (await c.order(key, load)).slice(offset, offset + count) : [];
    const [artistIds, albumIds, songIds] = await Promise.all([
      page('sync:artists', () => b.artistIdsWithAlbums(), pg.artistCount, pg.artistOffset),
      page('sync:albums', () => b.albumIds(), pg.albumCount, pg.albumOffset),
      page('sync:songs', () => b.trackIds(), pg.songCount, pg.songOffset),
    ]);
    const [artists, albums, rows] = await Promise.all([
      c.artistsByIds(artistIds),
      c.albumsByIds(albumIds),
      b.songs(songIds),
    ]);
    return { artists, albums, songs: await c.songExtras(rows), empty: true };
  }
  // The catalog search answers up to 200 per section from the top: page within that window.
  const window = (count: number, offset: number) => (count === 0 ? 0 : Math.min(200, offset + count));
  // Only the ranked ids: the rows (and their rendered text, fragments.ts) come from the catalog cache.
  const hits = await ctx.deps.search.searchIds(query, {
    artists: window(pg.artistCount, pg.artistOffset),
    albums: window(pg.albumCount, pg.albumOffset),
    tracks: window(pg.songCount, pg.songOffset),
    genres: 0,
  });
  const slice = (list: readonly string[], count: number, offset: number) => list.slice(offset, offset + count);
  const [artists, albums, songs] = await allOf(
    c.artistsByIds(slice(hits.artists, pg.artistCount, pg.artistOffset)),
    c.albumsByIds(slice(hits.albums, pg.albumCount, pg.albumOffset)),
    c.songsByIds(slice(hits.tracks, pg.songCount, pg.songOffset)),
  );
  return { artists, albums, songs, empty: false };
}

async function artistAnnotations(ctx: Ctx, artists: ArtistRow[]) {
  return ctx.deps.cache.annotations(
    ctx.user.id,
    'artist',
    artists.map((a) => a.id),
  );
}

export const searchMethods: Record<string, Method> = {
  search3: async (ctx) => {
    const query = ctx.params.str('query') ?? '';
    const pg = paging(ctx);
    const r = await find(ctx, query, pg);
    const [artist, album, local] = await allOf(
      artistItems(ctx, r.artists),
      albumItems(ctx, r.albums),
      songItems(ctx, r.songs),
    );
    let song: Item[] = local;
    // Remote provider results after the local ones (never for a library sync).
    if (!r.empty && ctx.deps.config.subsonicRemoteSearch && pg.songOffset === 0 && song.length < pg.songCount) {
      song = song.concat(
        await remoteSongs(ctx, query, pg.songCount - song.length, new Set(r.songs.map((s) => s.row.id))),
      );
    }
    return { searchResult3: { artist, album, song } };
  },

  search2: async (ctx) => {
    const query = ctx.params.str('query') ?? '';
    const r = await find(ctx, query, paging(ctx));
    const ann = await artistAnnotations(ctx, r.artists);
    const albumAnn = await ctx.deps.cache.annotations(
      ctx.user.id,
      'album',
      r.albums.map((a) => a.id),
    );
    return {
      searchResult2: {
        artist: r.artists.map((a) => artistNode(a, ann.get(a.id))),
        album: r.albums.map((a) => albumDirNode(a, albumAnn.get(a.id))),
        song: await songItems(ctx, r.songs),
      },
    };
  },

  /** Deprecated v1 search: `any` (or artist/album/title) over songs. */
  search: async (ctx) => {
    const p = ctx.params;
    const query = [p.str('any'), p.str('artist'), p.str('album'), p.str('title')].filter(Boolean).join(' ');
    const count = p.int('count', 20, { min: 0, max: MAX_PAGE });
    const offset = p.int('offset', 0, { min: 0 });
    const r = isEmptyQuery(query)
      ? { songs: [] as CachedSong[] }
      : await find(ctx, query, {
          artistCount: 0,
          artistOffset: 0,
          albumCount: 0,
          albumOffset: 0,
          songCount: count,
          songOffset: offset,
        });
    return { searchResult: { offset, totalHits: r.songs.length, match: await songItems(ctx, r.songs) } };
  },
};
