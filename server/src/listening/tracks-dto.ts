/** Turns track/album/artist rows into DTOs with the current user's `liked` flags (one query per type). */
import type { Selectable } from 'kysely';
import { type AlbumDto, type ArtistDto, type TrackDto, toAlbumDto, toArtistDto, toTrackDto } from '../catalog/dto.js';
import type { AlbumsTable, ArtistsTable, TracksTable } from '../db/schema.js';
import type { LikedFlags } from '../catalog/liked.js';

export async function trackDtos(
  liked: LikedFlags,
  userId: string,
  rows: Selectable<TracksTable>[],
): Promise<TrackDto[]> {
  const flags = await liked.likedIds(
    userId,
    'track',
    rows.map((r) => r.id),
  );
  return rows.map((r) => toTrackDto(r, flags.has(r.id)));
}

export async function albumDtos(
  liked: LikedFlags,
  userId: string,
  rows: Selectable<AlbumsTable>[],
): Promise<AlbumDto[]> {
  const flags = await liked.likedIds(
    userId,
    'album',
    rows.map((r) => r.id),
  );
  return rows.map((r) => toAlbumDto(r, flags.has(r.id)));
}

export async function artistDtos(
  liked: LikedFlags,
  userId: string,
  rows: Selectable<ArtistsTable>[],
): Promise<ArtistDto[]> {
  const flags = await liked.likedIds(
    userId,
    'artist',
    rows.map((r) => r.id),
  );
  return rows.map((r) => toArtistDto(r, flags.has(r.id)));
}
