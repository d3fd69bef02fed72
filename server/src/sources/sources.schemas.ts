/** TypeBox schemas of the remote-sources routes (validation, serialization, OpenAPI). */
import { type Static, Type } from '@sinclair/typebox';
import { IdParams, Limit, Nullable, Offset } from '../http/schemas.js';
import { AlbumRef, ArtistRef, TrackRef } from '../catalog/dto.js';

export const RemoteSourceSchema = Type.Union([
  Type.Literal('youtube'),
  Type.Literal('soundcloud'),
  Type.Literal('url'),
]);
export const SectionStatusSchema = Type.Union([
  Type.Literal('ok'),
  Type.Literal('timeout'),
  Type.Literal('error'),
  Type.Literal('disabled'),
]);
export type SectionStatus = Static<typeof SectionStatusSchema>;

export const JobStateSchema = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('done'),
  Type.Literal('failed'),
]);

export const SearchQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 200, description: 'What to look for (a URL searches the `url` source).' }),
  limit: Limit({ max: 50, default: 10, description: 'Items per section.' }),
});

export const RemoteItemSchema = Type.Object({
  source: RemoteSourceSchema,
  remoteId: Type.String(),
  title: Type.String(),
  artist: Nullable(Type.String()),
  album: Nullable(Type.String()),
  duration: Nullable(Type.Number({ description: 'seconds' })),
  thumbnailUrl: Nullable(Type.String()),
  cached: Type.Boolean({ description: 'Already cached on this server: plays locally.' }),
  trackId: Nullable(Type.String({ description: 'The catalog track when it was already played, liked or added.' })),
  liked: Type.Boolean(),
});
export type RemoteItem = Static<typeof RemoteItemSchema>;

export const RemoteSectionSchema = Type.Object({
  provider: RemoteSourceSchema,
  status: SectionStatusSchema,
  error: Type.Optional(Type.String()),
  /** Set after a failure: the provider is not asked again for this many seconds (back-off). */
  retryInSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
  tookMs: Type.Integer(),
  items: Type.Array(RemoteItemSchema),
});
export type RemoteSection = Static<typeof RemoteSectionSchema>;

export const LocalSectionSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  error: Type.Optional(Type.String()),
  tookMs: Type.Integer(),
  tracks: Type.Array(TrackRef),
  albums: Type.Array(AlbumRef),
  artists: Type.Array(ArtistRef),
});
export type LocalSection = Static<typeof LocalSectionSchema>;

export const SearchResponseSchema = Type.Object({
  query: Type.String(),
  local: LocalSectionSchema,
  remote: Type.Array(RemoteSectionSchema),
});
export type SearchResponse = Static<typeof SearchResponseSchema>;

export const UpsertRemoteBody = Type.Union([
  Type.Object({
    provider: Type.Union([Type.Literal('youtube'), Type.Literal('soundcloud')]),
    remoteId: Type.String({ minLength: 1, maxLength: 64 }),
  }),
  Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048 }) }),
]);

export { IdParams };

export const OfflineJobSchema = Type.Object({
  id: Type.String(),
  trackId: Nullable(Type.String()),
  state: JobStateSchema,
  attempts: Type.Integer(),
  maxAttempts: Type.Integer(),
  progress: Type.Number(),
  lastError: Nullable(Type.String()),
  runAfter: Type.Integer({ description: 'Unix ms: when a queued job may run next.' }),
  updatedAt: Type.Integer(),
});
export type OfflineJobView = Static<typeof OfflineJobSchema>;

export const OfflineStatusSchema = Type.Object({
  playlistId: Type.String(),
  isOffline: Type.Boolean(),
  total: Type.Integer({ description: 'Remote tracks in the playlist.' }),
  cached: Type.Integer(),
  queued: Type.Integer(),
  running: Type.Integer(),
  failed: Type.Integer(),
  jobs: Type.Array(OfflineJobSchema),
});
export type OfflineStatus = Static<typeof OfflineStatusSchema>;

export const CacheSummarySchema = Type.Object({
  bytes: Type.Integer(),
  files: Type.Integer(),
  bySource: Type.Array(Type.Object({ source: Type.String(), tracks: Type.Integer(), bytes: Type.Integer() })),
  downloadsInFlight: Type.Integer(),
  jobs: Type.Object({ queued: Type.Integer(), running: Type.Integer(), done: Type.Integer(), failed: Type.Integer() }),
});
/** What the remote-tracks service measures; the route adds the job counts. */
export type CacheSummary = Omit<Static<typeof CacheSummarySchema>, 'jobs'>;

export const JobsQuery = Type.Object({
  state: Type.Optional(JobStateSchema),
  limit: Limit({ max: 500, default: 100 }),
  offset: Offset,
});

export const JobsPageSchema = Type.Object({
  items: Type.Array(
    Type.Intersect([
      OfflineJobSchema,
      Type.Object({ type: Type.String(), ownerId: Nullable(Type.String()), createdAt: Type.Integer() }),
    ]),
  ),
  counts: Type.Object({
    queued: Type.Integer(),
    running: Type.Integer(),
    done: Type.Integer(),
    failed: Type.Integer(),
  }),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

export const UrlPermissionBody = Type.Object({ canPlayUrls: Type.Boolean() });

export const SourcesInfoSchema = Type.Object({
  providers: Type.Array(Type.Object({ name: RemoteSourceSchema, enabled: Type.Boolean() })),
  canPlayUrls: Type.Boolean({ description: 'Whether the current user may add/play arbitrary URLs.' }),
});
