/**
 * The shapes of tracks, albums and artists in every JSON response (native API, search, playlists,
 * history, shares). One schema each, so the OpenAPI document and the generated web client agree
 * everywhere. `liked` is always the *current user's* flag (false for anonymous share viewers).
 */
import { type Static, Type } from '@sinclair/typebox';
import { Limit, Nullable, Offset } from '../http/schemas.js';
import type { AlbumsTable, ArtistsTable, TracksTable } from '../db/schema.js';
import type { Selectable } from 'kysely';

export const SourceTypeSchema = Type.Union([
  Type.Literal('local'),
  Type.Literal('youtube'),
  Type.Literal('soundcloud'),
  Type.Literal('url'),
]);

export const TrackSchema = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    artist: Nullable(Type.String()),
    album: Nullable(Type.String()),
    albumArtist: Nullable(Type.String()),
    albumId: Nullable(Type.String()),
    artistId: Nullable(Type.String()),
    trackNumber: Nullable(Type.Integer()),
    discNumber: Nullable(Type.Integer()),
    year: Nullable(Type.Integer()),
    genre: Nullable(Type.String()),
    duration: Nullable(Type.Number({ description: 'seconds' })),
    format: Nullable(Type.String()),
    bitrate: Nullable(Type.Integer({ description: 'kbps' })),
    size: Nullable(Type.Integer()),
    source: SourceTypeSchema,
    remoteId: Nullable(Type.String()),
    /** Local files are always playable from disk; remote tracks once cached. */
    cached: Type.Boolean(),
    artworkId: Nullable(Type.String()),
    thumbnailUrl: Nullable(Type.String()),
    addedAt: Type.Integer({ description: 'Unix ms' }),
    liked: Type.Boolean(),
  },
  { $id: 'Track' },
);
export type TrackDto = Static<typeof TrackSchema>;

export const AlbumSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    artist: Type.String(),
    artistId: Nullable(Type.String()),
    year: Nullable(Type.Integer()),
    genre: Nullable(Type.String()),
    compilation: Type.Boolean(),
    trackCount: Type.Integer(),
    discCount: Type.Integer(),
    duration: Type.Number(),
    artworkId: Nullable(Type.String()),
    addedAt: Type.Integer(),
    liked: Type.Boolean(),
  },
  { $id: 'Album' },
);
export type AlbumDto = Static<typeof AlbumSchema>;

export const ArtistSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    albumCount: Type.Integer(),
    trackCount: Type.Integer(),
    artworkId: Nullable(Type.String()),
    liked: Type.Boolean(),
  },
  { $id: 'Artist' },
);
export type ArtistDto = Static<typeof ArtistSchema>;

export const PageQuery = Type.Object({ limit: Limit({ max: 500, default: 50 }), offset: Offset });

export const pageOf = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() });

/** The `tracks` columns a {@link TrackDto} is made of (search selects only these, not lyrics etc.). */
export const TRACK_DTO_COLUMNS = [
  'id',
  'title',
  'artist',
  'album',
  'album_artist',
  'album_id',
  'artist_id',
  'track_number',
  'disc_number',
  'year',
  'genre',
  'duration',
  'format',
  'bitrate',
  'size',
  'source_type',
  'remote_id',
  'is_cached',
  'artwork_id',
  'thumbnail_url',
  'added_at',
] as const satisfies readonly (keyof TracksTable)[];
export type TrackDtoRow = Pick<Selectable<TracksTable>, (typeof TRACK_DTO_COLUMNS)[number]>;

export function toTrackDto(row: TrackDtoRow, liked: boolean): TrackDto {
  return {
    id: row.id,
    title: row.title,
    artist: row.artist,
    album: row.album,
    albumArtist: row.album_artist,
    albumId: row.album_id,
    artistId: row.artist_id,
    trackNumber: row.track_number,
    discNumber: row.disc_number,
    year: row.year,
    genre: row.genre,
    duration: row.duration,
    format: row.format,
    bitrate: row.bitrate,
    size: row.size,
    source: row.source_type,
    remoteId: row.remote_id,
    cached: row.source_type === 'local' || row.is_cached === 1,
    artworkId: row.artwork_id,
    thumbnailUrl: row.thumbnail_url,
    addedAt: row.added_at,
    liked,
  };
}

export function toAlbumDto(row: Selectable<AlbumsTable>, liked: boolean): AlbumDto {
  return {
    id: row.id,
    name: row.name,
    artist: row.album_artist,
    artistId: row.artist_id,
    year: row.year,
    genre: row.genre,
    compilation: row.compilation === 1,
    trackCount: row.track_count,
    discCount: row.disc_count,
    duration: row.duration,
    artworkId: row.artwork_id,
    addedAt: row.added_at,
    liked,
  };
}

export function toArtistDto(row: Selectable<ArtistsTable>, liked: boolean): ArtistDto {
  return {
    id: row.id,
    name: row.name,
    albumCount: row.album_count,
    trackCount: row.track_count,
    artworkId: row.artwork_id,
    liked,
  };
}

/**
 * `$ref`s to the shared schemas. A schema with `$id` may appear only once per response schema
 * when inlined (fast-json-stringify: "reference resolves to more than one schema"), so responses
 * that list tracks in several places use these refs; main.ts registers the schemas at the root
 * with {@link registerDtoSchemas}, which also makes them named components in the OpenAPI document.
 */
export const TrackRef = Type.Unsafe<TrackDto>(Type.Ref('Track'));
export const AlbumRef = Type.Unsafe<AlbumDto>(Type.Ref('Album'));
export const ArtistRef = Type.Unsafe<ArtistDto>(Type.Ref('Artist'));

export function registerDtoSchemas(app: { getSchema(id: string): unknown; addSchema(schema: unknown): unknown }): void {
  for (const schema of [TrackSchema, AlbumSchema, ArtistSchema]) {
    if (!app.getSchema(schema.$id!)) app.addSchema(schema);
  }
}
