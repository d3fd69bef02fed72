/**
 * Browsing: folders (one music folder, id 1), the artist index (folder and ID3 forms), directories
 * (artist → albums, album → songs), artists, albums, songs, genres, info, top and similar songs.
 */
import type { Ctx, Method } from '../context.js';
import { albumNodes, songNodes } from '../context.js';
import { Text } from '../envelope.js';
import { ErrorCode, SubsonicError } from '../errors.js';
import { albumDirNode, artistId3Node, artistNode, IGNORED_ARTICLES, indexLetter, iso } from '../mappers.js';

export const MUSIC_FOLDER_ID = 1;

const notFound = (what: string, id: string) => new SubsonicError(ErrorCode.NotFound, `${what} not found: ${id}`);

function checkFolder(ctx: Ctx): void {
  const folder = ctx.params.str('musicFolderId');
  if (folder !== undefined && folder !== '' && folder !== String(MUSIC_FOLDER_ID)) {
    throw new SubsonicError(ErrorCode.NotFound, `Music folder not found: ${folder}`);
  }
}

async function artistIndex(ctx: Ctx, id3: boolean) {
  const artists = await ctx.deps.browse.artistsWithAlbums();
  const annotations = await ctx.deps.cache.annotations(
    ctx.user.id,
    'artist',
    artists.map((a) => a.id),
  );
  const groups = new Map<string, typeof artists>();
  for (const a of artists) {
    const letter = indexLetter(a.name, a.sort_name);
    groups.set(letter, [...(groups.get(letter) ?? []), a]);
  }
  const letters = [...groups.keys()].sort((x, y) => (x === '#' ? 1 : y === '#' ? -1 : x.localeCompare(y)));
  return letters.map((name) => ({
    name,
    artist: groups
      .get(name)!
      .map((a) => (id3 ? artistId3Node(a, annotations.get(a.id)) : artistNode(a, annotations.get(a.id)))),
  }));
}

async function artistDirectory(ctx: Ctx, id: string) {
  const artist = await ctx.deps.browse.artist(id);
  if (!artist) return null;
  const albums = await ctx.deps.browse.albumsOfArtist(id);
  const ann = await ctx.deps.cache.annotations(
    ctx.user.id,
    'album',
    albums.map((a) => a.id),
  );
  const own = (await ctx.deps.cache.annotations(ctx.user.id, 'artist', [id])).get(id);
  return {
    directory: {
      id: artist.id,
      name: artist.name,
      starred: iso(own?.starredAt),
      userRating: own?.rating ?? undefined,
      child: albums.map((a) => albumDirNode(a, ann.get(a.id))),
    },
  };
}

export const browsingMethods: Record<string, Method> = {
  getMusicFolders: async () => ({ musicFolders: { musicFolder: [{ id: MUSIC_FOLDER_ID, name: 'Music' }] } }),

  getIndexes: async (ctx) => {
    checkFolder(ctx);
    const lastModified = await ctx.deps.browse.lastModified();
    const since = ctx.params.int('ifModifiedSince', 0);
    return {
      indexes: {
        lastModified,
        ignoredArticles: IGNORED_ARTICLES,
        index: since > 0 && since >= lastModified ? [] : await artistIndex(ctx, false),
      },
    };
  },

  getArtists: async (ctx) => {
    checkFolder(ctx);
    return { artists: { ignoredArticles: IGNORED_ARTICLES, index: await artistIndex(ctx, true) } };
  },

  getMusicDirectory: async (ctx) => {
    const id = ctx.params.req('id');
    const artistDir = await artistDirectory(ctx, id);
    if (artistDir) return artistDir;
    const album = await ctx.deps.browse.album(id);
    if (!album) throw notFound('Directory', id);
    const songs = await songNodes(ctx, await ctx.deps.browse.songsOfAlbum(id));
    const own = (await ctx.deps.cache.annotations(ctx.user.id, 'album', [id])).get(id);
    return {
      directory: {
        id: album.id,
        parent: album.artist_id ?? undefined,
        name: album.name,
        starred: iso(own?.starredAt),
        userRating: own?.rating ?? undefined,
        playCount: own?.playCount ?? undefined,
        child: songs,
      },
    };
  },

  getArtist: async (ctx) => {
    const id = ctx.params.req('id');
    const artist = await ctx.deps.browse.artist(id);
    if (!artist) throw notFound('Artist', id);
    const albums = await ctx.deps.browse.albumsOfArtist(id);
    const own = (await ctx.deps.cache.annotations(ctx.user.id, 'artist', [id])).get(id);
    return { artist: { ...artistId3Node(artist, own), album: await albumNodes(ctx, albums) } };
  },

  getAlbum: async (ctx) => {
    const id = ctx.params.req('id');
    const album = await ctx.deps.browse.album(id);
    if (!album) throw notFound('Album', id);
    const [node] = await albumNodes(ctx, [album]);
    return { album: { ...node, song: await songNodes(ctx, await ctx.deps.browse.songsOfAlbum(id)) } };
  },

  getSong: async (ctx) => {
    const id = ctx.params.req('id');
    const [row] = await ctx.deps.browse.songs([id]);
    if (!row) throw notFound('Song', id);
    const [song] = await songNodes(ctx, [row]);
    return { song };
  },

  getGenres: async (ctx) => ({
    genres: {
      genre: (await ctx.deps.browse.allGenres()).map((g) => ({
        songCount: g.track_count,
        albumCount: g.album_count,
        value: g.name,
      })),
    },
  }),

  getArtistInfo: async (ctx) => artistInfo(ctx, 'artistInfo'),
  getArtistInfo2: async (ctx) => artistInfo(ctx, 'artistInfo2'),
  getAlbumInfo: async (ctx) => albumInfo(ctx),
  getAlbumInfo2: async (ctx) => albumInfo(ctx),

  getTopSongs: async (ctx) => {
    const count = ctx.params.int('count', 50, { min: 0, max: 500 });
    let artistId = ctx.params.str('id');
    if (!artistId) {
      const name = ctx.params.req('artist').toLowerCase();
      artistId = (await ctx.deps.browse.artistsWithAlbums()).find((a) => a.name.toLowerCase() === name)?.id;
      if (!artistId) return { topSongs: { song: [] } };
    }
    return { topSongs: { song: await songNodes(ctx, await ctx.deps.browse.topSongs(artistId, count)) } };
  },

  getSimilarSongs: async (ctx) => ({ similarSongs: { song: await similar(ctx) } }),
  getSimilarSongs2: async (ctx) => ({ similarSongs2: { song: await similar(ctx) } }),
};

async function artistInfo(ctx: Ctx, element: 'artistInfo' | 'artistInfo2') {
  const id = ctx.params.req('id');
  const artist = await ctx.deps.browse.artist(id);
  if (!artist) throw notFound('Artist', id);
  const count = ctx.params.int('count', 20, { min: 0, max: 100 });
  // Similar artists: those sharing the artist's genres (no external metadata service is used).
  const songs = await ctx.deps.browse.topSongs(id, 50);
  const genres = [...new Set(songs.flatMap((s) => (s.genre ? [s.genre] : [])))];
  const similarSongs = await ctx.deps.browse.similarSongs({ artistIds: [], genres, exclude: [] }, 200);
  const similarIds = [
    ...new Set(similarSongs.flatMap((s) => (s.artist_id && s.artist_id !== id ? [s.artist_id] : []))),
  ];
  const similarArtists = (await ctx.deps.browse.artistsByIds(similarIds.slice(0, count))).filter(
    (a) => a.album_count > 0,
  );
  const ann = await ctx.deps.cache.annotations(
    ctx.user.id,
    'artist',
    similarArtists.map((a) => a.id),
  );
  return {
    [element]: {
      musicBrainzId: artist.mbz_artist_id ? new Text(artist.mbz_artist_id) : undefined,
      similarArtist: similarArtists.map((a) =>
        element === 'artistInfo2' ? artistId3Node(a, ann.get(a.id)) : artistNode(a, ann.get(a.id)),
      ),
    },
  };
}

async function albumInfo(ctx: Ctx) {
  const id = ctx.params.req('id');
  const album = await ctx.deps.browse.album(id);
  if (!album) throw notFound('Album', id);
  return { albumInfo: { musicBrainzId: album.mbz_album_id ? new Text(album.mbz_album_id) : undefined } };
}

async function similar(ctx: Ctx) {
  const id = ctx.params.req('id');
  const count = ctx.params.int('count', 50, { min: 0, max: 500 });
  const b = ctx.deps.browse;
  const [song] = await b.songs([id]);
  if (song) {
    return songNodes(
      ctx,
      await b.similarSongs(
        { artistIds: song.artist_id ? [song.artist_id] : [], genres: song.genre ? [song.genre] : [], exclude: [id] },
        count,
      ),
    );
  }
  const album = await b.album(id);
  if (album) {
    const tracks = await b.songsOfAlbum(id);
    const genres = [...new Set(tracks.flatMap((t) => (t.genre ? [t.genre] : [])))];
    return songNodes(
      ctx,
      await b.similarSongs(
        { artistIds: album.artist_id ? [album.artist_id] : [], genres, exclude: tracks.map((t) => t.id) },
        count,
      ),
    );
  }
  const artist = await b.artist(id);
  if (!artist) throw notFound('Song, album or artist', id);
  const top = await b.topSongs(id, 50);
  const genres = [...new Set(top.flatMap((t) => (t.genre ? [t.genre] : [])))];
  return songNodes(ctx, await b.similarSongs({ artistIds: [id], genres, exclude: [] }, count));
}
