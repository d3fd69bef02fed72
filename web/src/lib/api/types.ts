/**
 * Types of the native API, taken from the generated schema.d.ts (openapi-typescript over the
 * committed openapi.json). When a route's shape changes and `npm run openapi` is re-run, these
 * follow — and svelte-check points at every component that no longer fits.
 */
import type { DataOf, Method, Operation } from './client.js';
import type { paths } from './schema.js';

export type { Method };
/** The JSON body of a route's success response (200, 201 or 202; 204 is `undefined`). */
export type ResponseOf<P extends keyof paths, M extends Method> = DataOf<Operation<P, M>>;
/** The JSON request body of a route. */
export type BodyOf<P extends keyof paths, M extends Method> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;
/** A route's query parameters. */
export type QueryOf<P extends keyof paths, M extends Method> = paths[P][M] extends { parameters: { query?: infer Q } }
  ? NonNullable<Q>
  : never;

type Item<T> = T extends { items: (infer I)[] } ? I : never;

export type Track = Item<ResponseOf<'/api/v1/tracks', 'get'>>;
export type TrackDetail = ResponseOf<'/api/v1/tracks/{id}', 'get'>;
export type Source = Track['source'];
export type Album = Item<ResponseOf<'/api/v1/albums', 'get'>>;
export type AlbumWithTracks = ResponseOf<'/api/v1/albums/{id}', 'get'>;
export type Artist = Item<ResponseOf<'/api/v1/artists', 'get'>>;
export type ArtistDetail = ResponseOf<'/api/v1/artists/{id}', 'get'>;
export type Genre = Item<ResponseOf<'/api/v1/genres', 'get'>>;
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}
export type AlbumSort = NonNullable<QueryOf<'/api/v1/albums', 'get'>['sort']>;
export type TrackSort = NonNullable<QueryOf<'/api/v1/tracks', 'get'>['sort']>;

export type AuthStatus = ResponseOf<'/auth/status', 'get'>;
export type User = ResponseOf<'/api/v1/me', 'get'>;
export type Role = User['role'];
export type RegistrationMode = AuthStatus['registration'];
export type Session = Item<ResponseOf<'/api/v1/me/sessions', 'get'>>;
export type StreamingPrefs = ResponseOf<'/api/v1/me/streaming', 'get'>;

export type PlaylistSummary = Item<ResponseOf<'/api/v1/playlists', 'get'>>;
export type Playlist = ResponseOf<'/api/v1/playlists/{id}', 'get'>;
export type PlaylistEntry = Playlist['entries'][number];
export type PlaylistChanges = BodyOf<'/api/v1/playlists/{id}', 'patch'>;
export type OfflineProgress = ResponseOf<'/api/v1/playlists/{id}/offline', 'get'>;
export type PlaylistImport = ResponseOf<'/api/v1/playlists/import', 'post'>;

export type HistoryEntry = Item<ResponseOf<'/api/v1/history', 'get'>>;
export type Discover = ResponseOf<'/api/v1/discover', 'get'>;

export type SearchResult = ResponseOf<'/api/v1/search', 'get'>;
export type LocalSearchResult = ResponseOf<'/api/v1/search/local', 'get'>;
export type RemoteSection = SearchResult['remote'][number];
export type RemoteItem = RemoteSection['items'][number];
/** One line of GET /api/v1/search/stream. */
export type SearchSection =
  | { section: 'local'; local: SearchResult['local'] }
  | { section: 'remote'; remote: RemoteSection };
export type RemoteTrackRequest = BodyOf<'/api/v1/remote/tracks', 'post'>;

export type Share = ResponseOf<'/api/v1/shares', 'post'>;
export type ShareKind = Share['kind'];

export type StorageReport = ResponseOf<'/system/storage', 'get'>;
export type ScanStatus = ResponseOf<'/api/v1/scan', 'get'>;
export type ScanProgress = NonNullable<ScanStatus['progress']>;
export type AdminUser = Item<ResponseOf<'/api/v1/admin/users', 'get'>>;
export type Invite = Item<ResponseOf<'/api/v1/admin/invites', 'get'>>;
export type NewInvite = ResponseOf<'/api/v1/admin/invites', 'post'>;
export type CacheStats = ResponseOf<'/api/v1/admin/cache', 'get'>;
export type ScanErrorsPage = ResponseOf<'/api/v1/scan/errors', 'get'>;
export type ScanError = Item<ScanErrorsPage>;
export type JobsPage = ResponseOf<'/api/v1/admin/jobs', 'get'>;
export type Job = Item<JobsPage>;
export type JobState = Job['state'];
export type SourcePermission = ResponseOf<'/api/v1/admin/users/{id}/source-permissions', 'get'>;
export type ServerInfo = ResponseOf<'/api/v1/admin/server', 'get'>;
/** A Subsonic API key or app password as listed (never its secret). */
export type SubsonicCredential = Item<ResponseOf<'/api/v1/me/api-keys', 'get'>>;
