/**
 * The service layer: one function per server operation, typed from the generated schema. Components
 * import `api` and never call fetch themselves.
 */
import { del, get, patch, post, put, request, streamNdjson } from './client.js';
import type {
  AdminUser,
  AlbumSort,
  AlbumWithTracks,
  ArtistDetail,
  AuthStatus,
  BodyOf,
  CacheStats,
  Discover,
  Invite,
  JobState,
  JobsPage,
  LocalSearchResult,
  NewInvite,
  OfflineProgress,
  Playlist,
  PlaylistChanges,
  PlaylistImport,
  PlaylistSummary,
  RemoteTrackRequest,
  ResponseOf,
  ScanErrorsPage,
  ScanStatus,
  SearchResult,
  SearchSection,
  ServerInfo,
  SourcePermission,
  Share,
  ShareKind,
  StorageReport,
  StreamingPrefs,
  Track,
  TrackDetail,
  TrackSort,
  User,
} from './types.js';

export * from './types.js';
export { ApiError, OfflineError, errorMessage, onUnauthorized } from './client.js';

export type LikeType = 'track' | 'album' | 'artist';

const enc = encodeURIComponent;

export const api = {
  auth: {
    status: () => request<AuthStatus>('GET', '/auth/status'),
    setup: (body: BodyOf<'/auth/setup', 'post'>) => post<ResponseOf<'/auth/setup', 'post'>>('/auth/setup', body),
    login: (body: BodyOf<'/auth/login', 'post'>) => post<ResponseOf<'/auth/login', 'post'>>('/auth/login', body),
    logout: () => post<unknown>('/auth/logout'),
    register: (body: BodyOf<'/auth/register', 'post'>) =>
      post<ResponseOf<'/auth/register', 'post'>>('/auth/register', body),
    invite: (token: string) => request<ResponseOf<'/auth/invite/{token}', 'get'>>('GET', `/auth/invite/${enc(token)}`),
  },
  me: {
    get: () => get<User>('/api/v1/me', undefined, { offline: false }),
    changePassword: (body: BodyOf<'/api/v1/me/password', 'put'>) =>
      put<ResponseOf<'/api/v1/me/password', 'put'>>('/api/v1/me/password', body),
    sessions: async () =>
      (await get<ResponseOf<'/api/v1/me/sessions', 'get'>>('/api/v1/me/sessions', undefined, { offline: false })).items,
    revokeSession: (id: string) => del<unknown>(`/api/v1/me/sessions/${enc(id)}`),
    preferences: () =>
      get<ResponseOf<'/api/v1/me/preferences', 'get'>>('/api/v1/me/preferences', undefined, { offline: false }),
    setPreferences: (prefs: BodyOf<'/api/v1/me/preferences', 'put'>) =>
      put<ResponseOf<'/api/v1/me/preferences', 'put'>>('/api/v1/me/preferences', prefs),
    streaming: () => get<StreamingPrefs>('/api/v1/me/streaming', undefined, { offline: false }),
    setStreaming: (prefs: BodyOf<'/api/v1/me/streaming', 'put'>) => put<StreamingPrefs>('/api/v1/me/streaming', prefs),
  },
  library: {
    discover: () => get<Discover>('/api/v1/discover'),
    albums: (q: { sort?: AlbumSort; limit?: number; offset?: number; genre?: string; artistId?: string } = {}) =>
      get<ResponseOf<'/api/v1/albums', 'get'>>('/api/v1/albums', q),
    album: (id: string) => get<AlbumWithTracks>(`/api/v1/albums/${enc(id)}`),
    artists: (q: { limit?: number; offset?: number; sort?: 'name' | 'albumCount' | 'recent' } = {}) =>
      get<ResponseOf<'/api/v1/artists', 'get'>>('/api/v1/artists', q),
    artist: (id: string) => get<ArtistDetail>(`/api/v1/artists/${enc(id)}`),
    tracks: (
      q: {
        sort?: TrackSort;
        limit?: number;
        offset?: number;
        albumId?: string;
        artistId?: string;
        genreId?: string;
      } = {},
      signal?: AbortSignal,
    ) => get<ResponseOf<'/api/v1/tracks', 'get'>>('/api/v1/tracks', q, { signal }),
    track: (id: string) => get<TrackDetail>(`/api/v1/tracks/${enc(id)}`),
    genres: async () => (await get<ResponseOf<'/api/v1/genres', 'get'>>('/api/v1/genres', { limit: 500 })).items,
    /** Local track count and how many files the scanner could not read (any signed-in user). */
    status: () =>
      get<ResponseOf<'/api/v1/library/status', 'get'>>('/api/v1/library/status', undefined, { offline: false }),
  },
  search: {
    all: (q: string, signal?: AbortSignal) => get<SearchResult>('/api/v1/search', { q }, { signal, offline: false }),
    /** The same search streamed: the local section first, then each provider as it answers. */
    stream: (q: string, onSection: (section: SearchSection) => void, signal?: AbortSignal) =>
      streamNdjson<SearchSection>('/api/v1/search/stream', { q }, onSection, signal),
    local: (q: string, signal?: AbortSignal) => get<LocalSearchResult>('/api/v1/search/local', { q }, { signal }),
    /** Makes a remote result a real track (so it can be played, liked, added to playlists). */
    resolveRemote: (body: RemoteTrackRequest) => post<Track>('/api/v1/remote/tracks', body),
  },
  likes: {
    set: (type: LikeType, id: string, liked: boolean) =>
      liked ? put<unknown>(`/api/v1/likes/${type}/${enc(id)}`) : del<unknown>(`/api/v1/likes/${type}/${enc(id)}`),
    tracks: async () =>
      (await get<ResponseOf<'/api/v1/likes/tracks', 'get'>>('/api/v1/likes/tracks', { limit: 500 })).items,
    albums: async () =>
      (await get<ResponseOf<'/api/v1/likes/albums', 'get'>>('/api/v1/likes/albums', { limit: 500 })).items,
    artists: async () =>
      (await get<ResponseOf<'/api/v1/likes/artists', 'get'>>('/api/v1/likes/artists', { limit: 500 })).items,
  },
  plays: {
    report: (trackId: string, secondsPlayed: number) =>
      post<unknown>('/api/v1/plays', { trackId, secondsPlayed: Math.round(secondsPlayed * 10) / 10 } satisfies BodyOf<
        '/api/v1/plays',
        'post'
      >),
    history: async (q: { limit?: number; offset?: number } = {}) =>
      (await get<ResponseOf<'/api/v1/history', 'get'>>('/api/v1/history', q)).items,
  },
  playlists: {
    list: async () => (await get<ResponseOf<'/api/v1/playlists', 'get'>>('/api/v1/playlists', { limit: 500 })).items,
    get: (id: string) => get<Playlist>(`/api/v1/playlists/${enc(id)}`),
    create: (body: BodyOf<'/api/v1/playlists', 'post'>) => post<PlaylistSummary>('/api/v1/playlists', body),
    update: (id: string, changes: PlaylistChanges) => patch<PlaylistSummary>(`/api/v1/playlists/${enc(id)}`, changes),
    remove: (id: string) => del<unknown>(`/api/v1/playlists/${enc(id)}`),
    addTracks: (id: string, trackIds: string[], position?: number) =>
      post<ResponseOf<'/api/v1/playlists/{id}/tracks', 'post'>>(`/api/v1/playlists/${enc(id)}/tracks`, {
        trackIds,
        ...(position === undefined ? {} : { position }),
      }),
    removeEntry: (id: string, entryId: string) => del<unknown>(`/api/v1/playlists/${enc(id)}/tracks/${enc(entryId)}`),
    move: (id: string, entryId: string, toPosition: number) =>
      post<unknown>(`/api/v1/playlists/${enc(id)}/move`, { entryId, toPosition } satisfies BodyOf<
        '/api/v1/playlists/{id}/move',
        'post'
      >),
    offline: (id: string) =>
      get<OfflineProgress>(`/api/v1/playlists/${enc(id)}/offline`, undefined, { offline: false }),
    exportUrl: (id: string) => `/api/v1/playlists/${enc(id)}/export.m3u8`,
    /** Creates a playlist from M3U/M3U8 text; the answer lists the lines that matched nothing. */
    importM3u: (m3u: string, name?: string) =>
      // Sent as M3U text (the server takes up to 5 MB that way; JSON bodies are capped lower).
      request<PlaylistImport>('POST', '/api/v1/playlists/import', {
        query: { name },
        text: { body: m3u, type: 'audio/x-mpegurl' },
      }),
  },
  shares: {
    create: (kind: ShareKind, id: string, expiresInDays?: number) =>
      post<Share>('/api/v1/shares', { kind, id, ...(expiresInDays ? { expiresInDays } : {}) } satisfies BodyOf<
        '/api/v1/shares',
        'post'
      >),
    list: async () =>
      (await get<ResponseOf<'/api/v1/shares', 'get'>>('/api/v1/shares', undefined, { offline: false })).items,
    remove: (id: string) => del<unknown>(`/api/v1/shares/${enc(id)}`),
  },
  admin: {
    storage: () => get<StorageReport>('/system/storage', undefined, { offline: false }),
    server: () => get<ServerInfo>('/api/v1/admin/server', undefined, { offline: false }),
    users: async () =>
      (await get<ResponseOf<'/api/v1/admin/users', 'get'>>('/api/v1/admin/users', undefined, { offline: false })).items,
    createUser: (body: BodyOf<'/api/v1/admin/users', 'post'>) => post<AdminUser>('/api/v1/admin/users', body),
    updateUser: (id: string, changes: BodyOf<'/api/v1/admin/users/{id}', 'patch'>) =>
      patch<AdminUser>(`/api/v1/admin/users/${enc(id)}`, changes),
    deleteUser: (id: string) => del<unknown>(`/api/v1/admin/users/${enc(id)}`),
    registration: () =>
      get<ResponseOf<'/api/v1/admin/registration', 'get'>>('/api/v1/admin/registration', undefined, { offline: false }),
    setRegistration: (body: BodyOf<'/api/v1/admin/registration', 'put'>) =>
      put<ResponseOf<'/api/v1/admin/registration', 'put'>>('/api/v1/admin/registration', body),
    invites: async () =>
      (await get<ResponseOf<'/api/v1/admin/invites', 'get'>>('/api/v1/admin/invites', undefined, { offline: false }))
        .items,
    createInvite: (body: BodyOf<'/api/v1/admin/invites', 'post'>) => post<NewInvite>('/api/v1/admin/invites', body),
    deleteInvite: (id: string) => del<unknown>(`/api/v1/admin/invites/${enc(id)}`),
    scan: () => get<ScanStatus>('/api/v1/scan', undefined, { offline: false }),
    startScan: (full = false) => post<ResponseOf<'/api/v1/scan', 'post'>>('/api/v1/scan', { full }),
    scanEventsUrl: '/api/v1/scan/events',
    /** Files the scanner could not read, with the reason. */
    scanErrors: (q: { limit?: number; offset?: number } = {}) =>
      get<ScanErrorsPage>('/api/v1/scan/errors', q, { offline: false }),
    cache: () => get<CacheStats>('/api/v1/admin/cache', undefined, { offline: false }),
    /** Background jobs (offline caching), newest first, with counts by state. */
    jobs: (q: { state?: JobState; limit?: number; offset?: number } = {}) =>
      get<JobsPage>('/api/v1/admin/jobs', q, { offline: false }),
    sourcePermission: (userId: string) =>
      get<SourcePermission>(`/api/v1/admin/users/${enc(userId)}/source-permissions`, undefined, { offline: false }),
    setSourcePermission: (userId: string, canPlayUrls: boolean) =>
      put<SourcePermission>(`/api/v1/admin/users/${enc(userId)}/source-permissions`, {
        canPlayUrls,
      } satisfies BodyOf<'/api/v1/admin/users/{id}/source-permissions', 'put'>),
  },
  urls: {
    stream: (trackId: string) => `/stream/${enc(trackId)}`,
    albumCover: (albumId: string, size = 300) => `/api/v1/albums/${enc(albumId)}/cover?size=${size}`,
    trackCover: (trackId: string, size = 300) => `/api/v1/tracks/${enc(trackId)}/cover?size=${size}`,
    artwork: (artworkId: string, size = 300) => `/api/v1/artwork/${enc(artworkId)}?size=${size}`,
    /** A remote image (search-hit thumbnail) through the server's checked, resizing proxy. */
    remoteThumbnail: (url: string, size = 96) => `/api/v1/remote/thumbnail?url=${enc(url)}&size=${size}`,
  },
};

export type { Invite };

/**
 * Cover image for a track: its artwork, else its album's cover, else (remote tracks not cached yet)
 * its thumbnail through the server's proxy, else the server's track cover (art or placeholder).
 */
export function trackCover(
  t: Pick<Track, 'id' | 'artworkId' | 'albumId'> & { thumbnailUrl?: string | null },
  size = 300,
): string {
  if (t.artworkId) return api.urls.artwork(t.artworkId, size);
  if (t.albumId) return api.urls.albumCover(t.albumId, size);
  if (t.thumbnailUrl) return api.urls.remoteThumbnail(t.thumbnailUrl, Math.min(size, 480));
  return api.urls.trackCover(t.id, size);
}

export function albumCover(a: { id: string; artworkId: string | null }, size = 300): string {
  return a.artworkId ? api.urls.artwork(a.artworkId, size) : api.urls.albumCover(a.id, size);
}
