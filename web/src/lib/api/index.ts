/**
 * The service layer: one function per server operation. Each is bound by path to the generated
 * schema (see client.ts), so its parameters and result follow the server's routes. Components import
 * `api` and never call fetch themselves.
 */
import { del, get, patch, post, put, streamNdjson } from './client.js';
import type {
  AlbumSort,
  BodyOf,
  JobState,
  PlaylistChanges,
  QueryOf,
  RemoteTrackRequest,
  SearchSection,
  ShareKind,
  Track,
  TrackSort,
} from './types.js';

export * from './types.js';
export { ApiError, OfflineError, errorMessage, onUnauthorized } from './client.js';

export type LikeType = 'track' | 'album' | 'artist';
/** The two kinds of Subsonic credentials (Settings → Phone apps). */
export type CredentialKind = 'api-keys' | 'app-passwords';

const enc = encodeURIComponent;
const live = { offline: false } as const;

export const api = {
  auth: {
    status: () => get('/auth/status', live),
    providers: () => get('/auth/providers', live),
    setup: (body: BodyOf<'/auth/setup', 'post'>) => post('/auth/setup', { body }),
    login: (body: BodyOf<'/auth/login', 'post'>) => post('/auth/login', { body }),
    logout: () => post('/auth/logout'),
    register: (body: BodyOf<'/auth/register', 'post'>) => post('/auth/register', { body }),
    invite: (token: string) => get('/auth/invite/{token}', { path: { token }, ...live }),
  },
  me: {
    get: () => get('/api/v1/me', live),
    changePassword: (body: BodyOf<'/api/v1/me/password', 'put'>) => put('/api/v1/me/password', { body }),
    sessions: async () => (await get('/api/v1/me/sessions', live)).items,
    revokeSession: (id: string) => del('/api/v1/me/sessions/{id}', { path: { id } }),
    /** Ends every session and API client of the caller, this browser included. */
    signOutEverywhere: () => del('/api/v1/me/sessions'),
    preferences: () => get('/api/v1/me/preferences', live),
    setPreferences: (body: BodyOf<'/api/v1/me/preferences', 'put'>) => put('/api/v1/me/preferences', { body }),
    streaming: () => get('/api/v1/me/streaming', live),
    setStreaming: (body: BodyOf<'/api/v1/me/streaming', 'put'>) => put('/api/v1/me/streaming', { body }),
    identities: () => get('/api/v1/me/identities', live),
    unlinkIdentity: (id: string) => del('/api/v1/me/identities/{id}', { path: { id } }),
    /** Subsonic API keys or app passwords of the caller. */
    credentials: async (kind: CredentialKind) =>
      (kind === 'api-keys' ? await get('/api/v1/me/api-keys', live) : await get('/api/v1/me/app-passwords', live))
        .items,
    /** A new credential with its secret, shown once. */
    createCredential: async (kind: CredentialKind, body: BodyOf<'/api/v1/me/api-keys', 'post'>) => {
      if (kind === 'api-keys') {
        const { key, ...rest } = await post('/api/v1/me/api-keys', { body });
        return { ...rest, secret: key };
      }
      const { password, ...rest } = await post('/api/v1/me/app-passwords', { body });
      return { ...rest, secret: password };
    },
    revokeCredential: (kind: CredentialKind, id: string) =>
      kind === 'api-keys'
        ? del('/api/v1/me/api-keys/{id}', { path: { id } })
        : del('/api/v1/me/app-passwords/{id}', { path: { id } }),
  },
  library: {
    discover: () => get('/api/v1/discover'),
    albums: (query: { sort?: AlbumSort; limit?: number; offset?: number; genre?: string; artistId?: string } = {}) =>
      get('/api/v1/albums', { query }),
    album: (id: string) => get('/api/v1/albums/{id}', { path: { id } }),
    artists: (query: Partial<QueryOf<'/api/v1/artists', 'get'>> = {}) => get('/api/v1/artists', { query }),
    artist: (id: string) => get('/api/v1/artists/{id}', { path: { id } }),
    tracks: (
      query: {
        sort?: TrackSort;
        limit?: number;
        offset?: number;
        albumId?: string;
        artistId?: string;
        genreId?: string;
      } = {},
      signal?: AbortSignal,
    ) => get('/api/v1/tracks', { query, signal }),
    track: (id: string) => get('/api/v1/tracks/{id}', { path: { id } }),
    genres: async () => (await get('/api/v1/genres', { query: { limit: 500 } })).items,
    /** Local track count and how many files the scanner could not read (any signed-in user). */
    status: () => get('/api/v1/library/status', live),
  },
  search: {
    all: (q: string, signal?: AbortSignal) => get('/api/v1/search', { query: { q }, signal, ...live }),
    /** The same search streamed: the local section first, then each provider as it answers. */
    stream: (q: string, onSection: (section: SearchSection) => void, signal?: AbortSignal) =>
      streamNdjson<SearchSection>('/api/v1/search/stream', { q }, onSection, signal),
    local: (q: string, signal?: AbortSignal) => get('/api/v1/search/local', { query: { q }, signal }),
    /** Makes a remote result a real track (so it can be played, liked, added to playlists). */
    resolveRemote: (body: RemoteTrackRequest) => post('/api/v1/remote/tracks', { body }),
  },
  likes: {
    set: (type: LikeType, id: string, liked: boolean) =>
      liked
        ? put('/api/v1/likes/{type}/{id}', { path: { type, id } })
        : del('/api/v1/likes/{type}/{id}', { path: { type, id } }),
    tracks: async () => (await get('/api/v1/likes/tracks', { query: { limit: 500 } })).items,
    albums: async () => (await get('/api/v1/likes/albums', { query: { limit: 500 } })).items,
    artists: async () => (await get('/api/v1/likes/artists', { query: { limit: 500 } })).items,
  },
  plays: {
    report: (trackId: string, secondsPlayed: number) =>
      post('/api/v1/plays', { body: { trackId, secondsPlayed: Math.round(secondsPlayed * 10) / 10 } }),
    history: async (query: { limit?: number; offset?: number } = {}) => (await get('/api/v1/history', { query })).items,
  },
  playlists: {
    list: async () => (await get('/api/v1/playlists', { query: { limit: 500 } })).items,
    get: (id: string) => get('/api/v1/playlists/{id}', { path: { id } }),
    create: (body: BodyOf<'/api/v1/playlists', 'post'>) => post('/api/v1/playlists', { body }),
    update: (id: string, body: PlaylistChanges) => patch('/api/v1/playlists/{id}', { path: { id }, body }),
    remove: (id: string) => del('/api/v1/playlists/{id}', { path: { id } }),
    addTracks: (id: string, trackIds: string[], position?: number) =>
      post('/api/v1/playlists/{id}/tracks', {
        path: { id },
        body: { trackIds, ...(position === undefined ? {} : { position }) },
      }),
    removeEntry: (id: string, entryId: string) =>
      del('/api/v1/playlists/{id}/tracks/{entryId}', { path: { id, entryId } }),
    move: (id: string, entryId: string, toPosition: number) =>
      post('/api/v1/playlists/{id}/move', { path: { id }, body: { entryId, toPosition } }),
    offline: (id: string) => get('/api/v1/playlists/{id}/offline', { path: { id }, ...live }),
    exportUrl: (id: string) => `/api/v1/playlists/${enc(id)}/export.m3u8`,
    /** Creates a playlist from M3U/M3U8 text; the answer lists the lines that matched nothing. */
    importM3u: (m3u: string, name?: string) =>
      // Sent as M3U text (the server takes up to 5 MB that way; JSON bodies are capped lower).
      post('/api/v1/playlists/import', { query: { name }, text: { body: m3u, type: 'audio/x-mpegurl' } }),
  },
  shares: {
    create: (kind: ShareKind, id: string, expiresInDays?: number) =>
      post('/api/v1/shares', { body: { kind, id, ...(expiresInDays ? { expiresInDays } : {}) } }),
    list: async () => (await get('/api/v1/shares', live)).items,
    remove: (id: string) => del('/api/v1/shares/{id}', { path: { id } }),
  },
  admin: {
    storage: () => get('/system/storage', live),
    server: () => get('/api/v1/admin/server', live),
    users: async () => (await get('/api/v1/admin/users', live)).items,
    createUser: (body: BodyOf<'/api/v1/admin/users', 'post'>) => post('/api/v1/admin/users', { body }),
    updateUser: (id: string, body: BodyOf<'/api/v1/admin/users/{id}', 'patch'>) =>
      patch('/api/v1/admin/users/{id}', { path: { id }, body }),
    deleteUser: (id: string) => del('/api/v1/admin/users/{id}', { path: { id } }),
    registration: () => get('/api/v1/admin/registration', live),
    setRegistration: (body: BodyOf<'/api/v1/admin/registration', 'put'>) => put('/api/v1/admin/registration', { body }),
    invites: async () => (await get('/api/v1/admin/invites', live)).items,
    createInvite: (body: BodyOf<'/api/v1/admin/invites', 'post'>) => post('/api/v1/admin/invites', { body }),
    deleteInvite: (id: string) => del('/api/v1/admin/invites/{id}', { path: { id } }),
    scan: () => get('/api/v1/scan', live),
    startScan: (full = false) => post('/api/v1/scan', { body: { full } }),
    scanEventsUrl: '/api/v1/scan/events',
    /** Files the scanner could not read, with the reason. */
    scanErrors: (query: { limit?: number; offset?: number } = {}) => get('/api/v1/scan/errors', { query, ...live }),
    cache: () => get('/api/v1/admin/cache', live),
    /** Background jobs (offline caching), newest first, with counts by state. */
    jobs: (query: { state?: JobState; limit?: number; offset?: number } = {}) =>
      get('/api/v1/admin/jobs', { query, ...live }),
    sourcePermission: (id: string) => get('/api/v1/admin/users/{id}/source-permissions', { path: { id }, ...live }),
    setSourcePermission: (id: string, canPlayUrls: boolean) =>
      put('/api/v1/admin/users/{id}/source-permissions', { path: { id }, body: { canPlayUrls } }),
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
