/**
 * The service layer: one function per server operation. Components import `api` and never call
 * fetch themselves. URLs and payloads follow the native API (openapi.json in this folder).
 */
import { del, get, patch, post, put, request } from './client.js';
import type {
  Album,
  AlbumWithTracks,
  Artist,
  ArtistDetail,
  AuthStatus,
  Discover,
  Genre,
  HistoryEntry,
  Invite,
  OfflineProgress,
  Page,
  Playlist,
  PlaylistSummary,
  ScanStatus,
  SearchResult,
  Session,
  Share,
  StorageReport,
  StreamingPrefs,
  Track,
  User,
} from './types.js';

export * from './types.js';
export { ApiError, OfflineError, errorMessage, onUnauthorized } from './client.js';

export type LikeType = 'track' | 'album' | 'artist';
export type AlbumSort = 'name' | 'artist' | 'year' | 'recent' | 'random';
export type TrackSort = 'title' | 'artist' | 'album' | 'year' | 'recent' | 'duration';

/** Lists may come back as a bare array or a page; components always get an array. */
function items<T>(value: T[] | Page<T> | { items: T[] }): T[] {
  return Array.isArray(value) ? value : value.items;
}

const enc = encodeURIComponent;

export const api = {
  auth: {
    status: () => request<AuthStatus>('GET', '/auth/status'),
    setup: (token: string, username: string, password: string) => post<unknown>('/auth/setup', { token, username, password }),
    login: (username: string, password: string) => post<unknown>('/auth/login', { username, password }),
    logout: () => post<unknown>('/auth/logout'),
    register: (username: string, password: string, invite?: string) =>
      post<unknown>('/auth/register', { username, password, ...(invite ? { invite } : {}) }),
    invite: (token: string) => request<{ valid?: boolean; role?: string; expiresAt?: number | null }>('GET', `/auth/invite/${enc(token)}`),
  },
  me: {
    get: () => get<User>('/api/v1/me', undefined, { offline: false }),
    changePassword: (currentPassword: string, newPassword: string) => put<unknown>('/api/v1/me/password', { currentPassword, newPassword }),
    sessions: async () => items(await get<Session[] | Page<Session>>('/api/v1/me/sessions', undefined, { offline: false })),
    revokeSession: (id: string) => del<unknown>(`/api/v1/me/sessions/${enc(id)}`),
    streaming: () => get<StreamingPrefs>('/api/v1/me/streaming', undefined, { offline: false }),
    setStreaming: (prefs: StreamingPrefs) => put<StreamingPrefs>('/api/v1/me/streaming', prefs),
  },
  library: {
    discover: () => get<Discover>('/api/v1/discover'),
    albums: (q: { sort?: AlbumSort; limit?: number; offset?: number; genre?: string; artistId?: string } = {}) =>
      get<Page<Album>>('/api/v1/albums', q),
    album: (id: string) => get<AlbumWithTracks>(`/api/v1/albums/${enc(id)}`),
    artists: (q: { limit?: number; offset?: number } = {}) => get<Page<Artist>>('/api/v1/artists', q),
    artist: (id: string) => get<ArtistDetail>(`/api/v1/artists/${enc(id)}`),
    tracks: (q: { sort?: TrackSort; limit?: number; offset?: number; genre?: string } = {}, signal?: AbortSignal) =>
      get<Page<Track>>('/api/v1/tracks', q, { signal }),
    track: (id: string) => get<Track>(`/api/v1/tracks/${enc(id)}`),
    genres: async () => items(await get<Genre[] | Page<Genre>>('/api/v1/genres')),
  },
  search: {
    all: (q: string, signal?: AbortSignal) => get<SearchResult>('/api/v1/search', { q }, { signal, offline: false }),
    local: (q: string, signal?: AbortSignal) => get<SearchResult['local']>('/api/v1/search/local', { q }, { signal }),
    /** Makes a remote result a real track (so it can be played, liked, added to playlists). */
    resolveRemote: (provider: string, remoteId: string) => post<Track>('/api/v1/remote/tracks', { provider, remoteId }),
  },
  likes: {
    set: (type: LikeType, id: string, liked: boolean) =>
      liked ? put<unknown>(`/api/v1/likes/${type}/${enc(id)}`) : del<unknown>(`/api/v1/likes/${type}/${enc(id)}`),
    tracks: async () => items(await get<Track[] | Page<Track>>('/api/v1/likes/tracks', { limit: 500 })),
    albums: async () => items(await get<Album[] | Page<Album>>('/api/v1/likes/albums', { limit: 500 })),
    artists: async () => items(await get<Artist[] | Page<Artist>>('/api/v1/likes/artists', { limit: 500 })),
  },
  plays: {
    report: (trackId: string, secondsPlayed: number) => post<unknown>('/api/v1/plays', { trackId, secondsPlayed: Math.round(secondsPlayed) }),
    history: async (q: { limit?: number; offset?: number } = {}) =>
      items(await get<HistoryEntry[] | Page<HistoryEntry>>('/api/v1/history', q)),
  },
  playlists: {
    list: async () => items(await get<PlaylistSummary[] | Page<PlaylistSummary>>('/api/v1/playlists')),
    get: (id: string) => get<Playlist>(`/api/v1/playlists/${enc(id)}`),
    create: (name: string, description?: string) => post<Playlist>('/api/v1/playlists', { name, ...(description ? { description } : {}) }),
    update: (id: string, changes: Partial<{ name: string; description: string; isPublic: boolean; isOffline: boolean }>) =>
      patch<Playlist>(`/api/v1/playlists/${enc(id)}`, changes),
    remove: (id: string) => del<unknown>(`/api/v1/playlists/${enc(id)}`),
    addTracks: (id: string, trackIds: string[], position?: number) =>
      post<Playlist>(`/api/v1/playlists/${enc(id)}/tracks`, { trackIds, ...(position === undefined ? {} : { position }) }),
    removeEntry: (id: string, entryId: string) => del<unknown>(`/api/v1/playlists/${enc(id)}/tracks/${enc(entryId)}`),
    move: (id: string, entryId: string, toPosition: number) =>
      post<Playlist>(`/api/v1/playlists/${enc(id)}/move`, { entryId, toPosition }),
    offline: (id: string) => get<OfflineProgress>(`/api/v1/playlists/${enc(id)}/offline`, undefined, { offline: false }),
    exportUrl: (id: string) => `/api/v1/playlists/${enc(id)}/export.m3u8`,
  },
  shares: {
    create: (kind: Share['kind'], id: string, expiresInDays?: number) =>
      post<Share>('/api/v1/shares', { kind, id, ...(expiresInDays ? { expiresInDays } : {}) }),
    list: async () => items(await get<Share[] | Page<Share>>('/api/v1/shares', undefined, { offline: false })),
    remove: (id: string) => del<unknown>(`/api/v1/shares/${enc(id)}`),
  },
  admin: {
    storage: () => get<StorageReport>('/system/storage', undefined, { offline: false }),
    server: () => get<Record<string, unknown>>('/api/v1/admin/server', undefined, { offline: false }),
    users: async () => items(await get<User[] | Page<User>>('/api/v1/admin/users', undefined, { offline: false })),
    createUser: (username: string, password: string, role: User['role']) => post<User>('/api/v1/admin/users', { username, password, role }),
    updateUser: (id: string, changes: Partial<{ role: User['role']; password: string; disabled: boolean }>) =>
      patch<User>(`/api/v1/admin/users/${enc(id)}`, changes),
    deleteUser: (id: string) => del<unknown>(`/api/v1/admin/users/${enc(id)}`),
    registration: () => get<{ mode: string }>('/api/v1/admin/registration', undefined, { offline: false }),
    setRegistration: (mode: string) => put<{ mode: string }>('/api/v1/admin/registration', { mode }),
    invites: async () => items(await get<Invite[] | Page<Invite>>('/api/v1/admin/invites', undefined, { offline: false })),
    createInvite: (role: User['role'] = 'user', expiresInDays?: number) =>
      post<Invite>('/api/v1/admin/invites', { role, ...(expiresInDays ? { expiresInDays } : {}) }),
    deleteInvite: (id: string) => del<unknown>(`/api/v1/admin/invites/${enc(id)}`),
    scan: () => get<ScanStatus>('/api/v1/scan', undefined, { offline: false }),
    startScan: (full = false) => post<ScanStatus>('/api/v1/scan', { full }),
    scanErrors: async () => items(await get<unknown[] | Page<unknown>>('/api/v1/scan/errors', undefined, { offline: false })),
    scanEventsUrl: '/api/v1/scan/events',
    cache: () => get<Record<string, unknown>>('/api/v1/admin/cache', undefined, { offline: false }),
  },
  urls: {
    stream: (trackId: string) => `/stream/${enc(trackId)}`,
    albumCover: (albumId: string, size = 300) => `/api/v1/albums/${enc(albumId)}/cover?size=${size}`,
    artwork: (artworkId: string, size = 300) => `/api/v1/artwork/${enc(artworkId)}?size=${size}`,
  },
};

/** Cover image for a track: its artwork, else its album's cover (art or placeholder), else the remote thumbnail. */
export function trackCover(t: Pick<Track, 'artworkId' | 'albumId' | 'thumbnailUrl'>, size = 300): string | null {
  if (t.artworkId) return api.urls.artwork(t.artworkId, size);
  if (t.albumId) return api.urls.albumCover(t.albumId, size);
  return t.thumbnailUrl && t.thumbnailUrl.startsWith('/') ? t.thumbnailUrl : null;
}

export function albumCover(a: Pick<Album, 'id' | 'artworkId'>, size = 300): string {
  return a.artworkId ? api.urls.artwork(a.artworkId, size) : api.urls.albumCover(a.id, size);
}
