/** TypeBox schemas of the playlist routes. Unknown body fields (ownerId, createdAt …) are stripped. */
import { type Static, Type } from '@sinclair/typebox';
import { Id, MAX_OFFSET, Nullable } from '../http/schemas.js';
import { TrackRef } from '../catalog/dto.js';

export const PLAYLIST_NAME_MAX = 200;
export const PLAYLIST_DESCRIPTION_MAX = 2000;
export const MAX_TRACKS_PER_ADD = 1000;

export const PlaylistSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.String(),
    ownerId: Type.String(),
    ownerName: Type.String(),
    isPublic: Type.Boolean(),
    isOffline: Type.Boolean({ description: 'Remote tracks of this playlist are kept cached for offline play' }),
    isOwner: Type.Boolean({ description: 'Whether the caller owns (and so may change) it' }),
    trackCount: Type.Integer(),
    duration: Type.Number({ description: 'seconds' }),
    createdAt: Type.Integer(),
    updatedAt: Type.Integer(),
  },
  { title: 'Playlist' },
);
export type PlaylistDto = Static<typeof PlaylistSchema>;

export const PlaylistEntrySchema = Type.Object(
  {
    entryId: Type.String(),
    position: Type.Integer(),
    available: Type.Boolean({ description: 'false once the track was deleted from the library' }),
    track: Nullable(TrackRef),
    title: Type.String(),
    artist: Nullable(Type.String()),
    album: Nullable(Type.String()),
    duration: Nullable(Type.Number()),
  },
  { title: 'PlaylistEntry' },
);
export type PlaylistEntryDto = Static<typeof PlaylistEntrySchema>;

export const PlaylistDetailSchema = Type.Intersect(
  [PlaylistSchema, Type.Object({ entries: Type.Array(PlaylistEntrySchema) })],
  {
    title: 'PlaylistDetail',
  },
);

export const PlaylistIdParams = Type.Object({ id: Id });
export const EntryParams = Type.Object({
  id: Id,
  entryId: Id,
});

export const CreatePlaylistBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: PLAYLIST_NAME_MAX * 2 }),
  description: Type.Optional(Type.String({ maxLength: PLAYLIST_DESCRIPTION_MAX * 2 })),
  isPublic: Type.Optional(Type.Boolean()),
});

export const UpdatePlaylistBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: PLAYLIST_NAME_MAX * 2 })),
  description: Type.Optional(Type.String({ maxLength: PLAYLIST_DESCRIPTION_MAX * 2 })),
  isPublic: Type.Optional(Type.Boolean()),
  isOffline: Type.Optional(Type.Boolean()),
});

export const AddTracksBody = Type.Object({
  trackIds: Type.Array(Id, { minItems: 1, maxItems: MAX_TRACKS_PER_ADD }),
  position: Type.Optional(
    Type.Integer({ minimum: 0, maximum: MAX_OFFSET, description: 'insert before this position; default: at the end' }),
  ),
});
export const AddTracksResponse = Type.Object({ added: Type.Integer(), position: Type.Integer() });

export const MoveBody = Type.Object({
  entryId: Id,
  toPosition: Type.Integer({ minimum: 0, maximum: MAX_OFFSET }),
});

export const ImportJsonBody = Type.Object({
  name: Type.Optional(Type.String({ maxLength: PLAYLIST_NAME_MAX * 2 })),
  m3u: Type.String({ maxLength: 5 * 1024 * 1024 }),
});

export const ImportResponse = Type.Object({
  playlist: PlaylistSchema,
  matched: Type.Integer(),
  unmatched: Type.Array(Type.Object({ line: Type.Integer(), location: Type.String(), title: Nullable(Type.String()) })),
});
