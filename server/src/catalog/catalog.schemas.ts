/** TypeBox schemas of the catalog API (sort allow-lists, filters, detail shapes). */
import { Type } from '@sinclair/typebox';
import { Id, IdParams, Limit, Nullable } from '../http/schemas.js';
import { AlbumRef, AlbumSchema, ArtistRef, ArtistSchema, PageQuery, TrackRef, TrackSchema } from './dto.js';

const sortOf = <T extends string>(keys: readonly T[], def: T) =>
  Type.Union(
    keys.map((k) => Type.Literal(k)),
    { default: def, description: `one of: ${keys.join(', ')}` },
  );

export { IdParams };

export const ArtistsQuery = Type.Object({
  ...PageQuery.properties,
  sort: sortOf(['name', 'albumCount', 'recent'] as const, 'name'),
});
export const AlbumsQuery = Type.Object({
  ...PageQuery.properties,
  sort: sortOf(['name', 'artist', 'year', 'recent', 'random'] as const, 'name'),
  genre: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'genre name (case-insensitive)' })),
  artistId: Type.Optional(Id),
});
export const TracksQuery = Type.Object({
  ...PageQuery.properties,
  sort: sortOf(['title', 'artist', 'album', 'recent'] as const, 'title'),
  albumId: Type.Optional(Id),
  artistId: Type.Optional(Id),
  genreId: Type.Optional(Id),
});
export const SearchQuery = Type.Object({
  q: Type.String({ maxLength: 500 }),
  limit: Limit({
    max: 100,
    default: 20,
    description: 'per section (tracks); albums/artists get half, genres a quarter',
  }),
});

// Refs to the shared DTO schemas (registered once by main.ts; named components in OpenAPI).
export const Track = TrackRef;
export const Album = AlbumRef;
export const Artist = ArtistRef;

export const GenreSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  trackCount: Type.Integer(),
  albumCount: Type.Integer(),
});

export const ArtistDetailSchema = Type.Object({ ...ArtistSchema.properties, albums: Type.Array(Album) });
export const AlbumDetailSchema = Type.Object({ ...AlbumSchema.properties, tracks: Type.Array(Track) });

const NamedRef = Type.Object({ id: Type.String(), name: Type.String() });
export const TrackDetailSchema = Type.Object({
  ...TrackSchema.properties,
  artists: Type.Array(NamedRef),
  albumArtists: Type.Array(NamedRef),
  genres: Type.Array(NamedRef),
  trackTotal: Nullable(Type.Integer()),
  discTotal: Nullable(Type.Integer()),
  date: Nullable(Type.String()),
  compilation: Type.Boolean(),
  codec: Nullable(Type.String()),
  sampleRate: Nullable(Type.Integer()),
  channels: Nullable(Type.Integer()),
  replayGain: Type.Object({
    trackGain: Nullable(Type.Number({ description: 'dB' })),
    trackPeak: Nullable(Type.Number()),
    albumGain: Nullable(Type.Number({ description: 'dB' })),
    albumPeak: Nullable(Type.Number()),
  }),
  musicBrainz: Type.Object({
    trackId: Nullable(Type.String()),
    recordingId: Nullable(Type.String()),
    albumId: Nullable(Type.String()),
    artistId: Nullable(Type.String()),
    albumArtistId: Nullable(Type.String()),
  }),
  lyrics: Nullable(Type.String()),
  comment: Nullable(Type.String()),
  mtime: Nullable(Type.Integer()),
  path: Type.Optional(Type.String({ description: 'relative to the music folder; administrators only' })),
});

export const SearchResultSchema = Type.Object(
  {
    tracks: Type.Array(Track),
    albums: Type.Array(Album),
    artists: Type.Array(Artist),
    genres: Type.Array(GenreSchema),
  },
  { description: 'Local search results in typed sections, best match first' },
);
