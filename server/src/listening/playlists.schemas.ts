/** TypeBox schemas of the playlist routes. Unknown body fields (ownerId, createdAt …) are stripped. */
import { Type } from '@sinclair/typebox';
import { MAX_OFFSET } from '../http/params.js';
import { TrackRef } from '../catalog/dto.js';
import { ID_PATTERN } from '../shared/ids.js';
import { PLAYLIST_DESCRIPTION_MAX, PLAYLIST_NAME_MAX } from './playlists.service.js';

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

export const PlaylistEntrySchema = Type.Object(
  {
    entryId: Type.String(),
    position: Type.Integer(),
    available: Type.Boolean({ description: 'false once the track was deleted from the library' }),
    track: Type.Union([TrackRef, Type.Null()]),
    title: Type.String(),
    artist: Type.Union([Type.String(), Type.Null()]),
    album: Type.Union([Type.String(), Type.Null()]),
    duration: Type.Union([Type.Number(), Type.Null()]),
  },
  { title: 'PlaylistEntry' },
);

export const PlaylistDetailSchema = Type.Intersect(
  [PlaylistSchema, Type.Object({ entries: Type.Array(PlaylistEntrySchema) })],
  {
    title: 'PlaylistDetail',
  },
);

export const PlaylistIdParams = Type.Object({ id: Type.String({ pattern: ID_PATTERN }) });
export const EntryParams = Type.Object({
  id: Type.String({ pattern: ID_PATTERN }),
  entryId: Type.String({ pattern: ID_PATTERN }),
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
  trackIds: Type.Array(Type.String({ pattern: ID_PATTERN }), { minItems: 1, maxItems: 1000 }),
  position: Type.Optional(
    Type.Integer({ minimum: 0, maximum: MAX_OFFSET, description: 'insert before this position; default: at the end' }),
  ),
});
export const AddTracksResponse = Type.Object({ added: Type.Integer(), position: Type.Integer() });

export const MoveBody = Type.Object({
  entryId: Type.String({ pattern: ID_PATTERN }),
  toPosition: Type.Integer({ minimum: 0, maximum: MAX_OFFSET }),
});

export const ImportJsonBody = Type.Object({
  name: Type.Optional(Type.String({ maxLength: PLAYLIST_NAME_MAX * 2 })),
  m3u: Type.String({ maxLength: 5 * 1024 * 1024 }),
});

export const ImportResponse = Type.Object({
  playlist: PlaylistSchema,
  matched: Type.Integer(),
  unmatched: Type.Array(
    Type.Object({ line: Type.Integer(), location: Type.String(), title: Type.Union([Type.String(), Type.Null()]) }),
  ),
});
