/**
 * The narrow view federated search needs of the catalog's local search (FTS5, in catalog/). The
 * catalog area implements it; main.ts wires the real implementation in.
 */
import type { AlbumDto, ArtistDto, TrackDto } from '../../catalog/dto.js';

export interface LocalSearchLimits {
  tracks: number;
  albums: number;
  artists: number;
}

export interface LocalSearchResult {
  tracks: TrackDto[];
  albums: AlbumDto[];
  artists: ArtistDto[];
}

export interface LocalSearchProvider {
  search(query: string, userId: string, limits: LocalSearchLimits): Promise<LocalSearchResult>;
}
