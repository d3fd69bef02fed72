/** Turns track/album/artist rows into DTOs with the current user's `liked` flags (one query per type). */
import type { Selectable } from 'kysely';
import { type AlbumDto, type ArtistDto, type TrackDto, toAlbumDto, toArtistDto, toTrackDto } from '../catalog/dto.js';
import type { Db } from '../db/database.js';
import type { AlbumsTable, ArtistsTable, TracksTable } from '../db/schema.js';
import { likedIds } from './liked-flags.js';

export async function trackDtos(db: Db, userId: string, rows: Selectable<TracksTable>[]): Promise<TrackDto[]> {
  const liked = await likedIds(
    db,
    userId,
    'track',
    rows.map((r) => r.id),
  );
  return rows.map((r) => toTrackDto(r, liked.has(r.id)));
}

export async function albumDtos(db: Db, userId: string, rows: Selectable<AlbumsTable>[]): Promise<AlbumDto[]> {
  const liked = await likedIds(
    db,
    userId,
    'album',
    rows.map((r) => r.id),
  );
  return rows.map((r) => toAlbumDto(r, liked.has(r.id)));
}

export async function artistDtos(db: Db, userId: string, rows: Selectable<ArtistsTable>[]): Promise<ArtistDto[]> {
  const liked = await likedIds(
    db,
    userId,
    'artist',
    rows.map((r) => r.id),
  );
  return rows.map((r) => toArtistDto(r, liked.has(r.id)));
}
