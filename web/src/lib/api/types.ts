/**
 * Shapes of the native API's JSON, as the service layer hands them to components. They mirror the
 * server's TypeBox schemas (server/src/catalog/dto.ts and each area's *.schemas.ts), which are
 * published in openapi.json; schema.d.ts is the generated form of the same document.
 */
export type Source = 'local' | 'youtube' | 'soundcloud' | 'url';

export interface Track {
  id: string;
  title: string;
  artist: string | null;
  album: string | null;
  albumArtist: string | null;
  albumId: string | null;
  artistId: string | null;
  trackNumber: number | null;
  discNumber: number | null;
  year: number | null;
  genre: string | null;
  duration: number | null;
  format: string | null;
  bitrate: number | null;
  size: number | null;
  source: Source;
  remoteId: string | null;
  cached: boolean;
  artworkId: string | null;
  thumbnailUrl: string | null;
  addedAt: number;
  liked: boolean;
}

export interface Album {
  id: string;
  name: string;
  artist: string;
  artistId: string | null;
  year: number | null;
  genre: string | null;
  compilation: boolean;
  trackCount: number;
  discCount: number;
  duration: number;
  artworkId: string | null;
  addedAt: number;
  liked: boolean;
}

export interface AlbumWithTracks extends Album {
  tracks: Track[];
}

export interface Artist {
  id: string;
  name: string;
  albumCount: number;
  trackCount: number;
  artworkId: string | null;
  liked: boolean;
}

export interface ArtistDetail extends Artist {
  albums: Album[];
  topTracks?: Track[];
}

export interface Genre {
  id?: string;
  name: string;
  trackCount?: number;
  albumCount?: number;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export type Role = 'admin' | 'user';

export interface User {
  id: string;
  username: string;
  role: Role;
  displayName?: string | null;
  email?: string | null;
  createdAt?: number;
  lastSeenAt?: number | null;
  disabled?: boolean;
}

export type RegistrationMode = 'closed' | 'invite' | 'open';

export interface AuthStatus {
  setupRequired: boolean;
  registration: RegistrationMode | string;
  user: User | null;
}

export interface Session {
  id: string;
  userAgent?: string | null;
  ip?: string | null;
  createdAt: number;
  lastSeenAt?: number | null;
  expiresAt?: number | null;
  current?: boolean;
}

export interface PlaylistSummary {
  id: string;
  name: string;
  description: string | null;
  isPublic: boolean;
  isOffline: boolean;
  trackCount: number;
  duration: number;
  ownerId?: string;
  owner?: string | null;
  ownerName?: string | null;
  createdAt?: number;
  updatedAt?: number;
  artworkIds?: string[];
}

export interface PlaylistEntry {
  entryId: string;
  position: number;
  /** null when the track was deleted: the snapshot fields below still show what it was. */
  track: Track | null;
  title?: string;
  artist?: string | null;
  album?: string | null;
  duration?: number | null;
  available?: boolean;
  addedAt?: number;
}

export interface Playlist extends PlaylistSummary {
  entries: PlaylistEntry[];
  editable?: boolean;
}

export interface OfflineProgress {
  playlistId?: string;
  isOffline?: boolean;
  total: number;
  cached: number;
  pending?: number;
  failed?: number;
  bytes?: number;
  state?: string;
}

export interface HistoryEntry {
  id?: string;
  playedAt: number;
  secondsPlayed?: number;
  track: Track;
}

export interface Discover {
  recentlyAdded: Album[];
  mostPlayedWeek: Track[];
  mostPlayedMonth: Track[];
  recentlyPlayed: Track[];
  liked: Track[];
}

export interface RemoteItem {
  source: string;
  remoteId: string;
  title: string;
  artist: string | null;
  duration: number | null;
  thumbnail: string | null;
  cached: boolean;
  trackId?: string | null;
  liked?: boolean;
  url?: string;
}

export interface RemoteSection {
  provider: string;
  status: string;
  message?: string;
  items: RemoteItem[];
}

export interface SearchResult {
  query: string;
  local: { tracks: Track[]; albums: Album[]; artists: Artist[] };
  remote: RemoteSection[];
}

export interface Share {
  id: string;
  token?: string;
  kind: 'track' | 'album' | 'playlist';
  itemId?: string;
  url: string;
  name?: string | null;
  expiresAt: number | null;
  createdAt: number;
  views?: number;
}

export interface StreamingPrefs {
  [key: string]: unknown;
}

export interface StorageVolume {
  path?: string;
  used: number;
  available?: number;
  total?: number;
  [key: string]: unknown;
}

export type StorageReport = Record<string, unknown>;

export interface ScanStatus {
  running?: boolean;
  state?: string;
  phase?: string | null;
  [key: string]: unknown;
}

export interface Invite {
  id: string;
  token?: string;
  url?: string;
  link?: string;
  role?: Role;
  createdAt: number;
  expiresAt: number | null;
  usedAt?: number | null;
  usedBy?: string | null;
}
