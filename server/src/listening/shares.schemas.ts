/** TypeBox schemas of share links: the owner API (`/api/v1/shares`) and the public `/share/{token}` data. */
import { type Static, Type } from '@sinclair/typebox';
import { Id, Nullable } from '../http/schemas.js';

export const DEFAULT_SHARE_DAYS = 30;
export const MAX_SHARE_DAYS = 3650;
/** `<id>.<HMAC>`: 22 id characters, then 32 of signature (base64url). */
export const SHARE_TOKEN_PATTERN = '^[A-Za-z0-9]{22}\\.[A-Za-z0-9_-]{32}$';

export const ShareKindSchema = Type.Union([Type.Literal('track'), Type.Literal('album'), Type.Literal('playlist')]);

export const ShareSchema = Type.Object({
  id: Type.String(),
  createdBy: Type.String({ description: 'Username of whoever made the link.' }),
  isMine: Type.Boolean({ description: 'false: someone else shared a thing you own (you can revoke it).' }),
  kind: ShareKindSchema,
  itemId: Type.String(),
  title: Type.String(),
  description: Nullable(Type.String({ description: 'What the sharer wrote about it (Subsonic apps send one).' })),
  token: Type.String(),
  url: Type.String({ description: 'The public link (absolute when EARSHOT_PUBLIC_URL is set).' }),
  createdAt: Type.Integer(),
  expiresAt: Nullable(Type.Integer()),
  expired: Type.Boolean(),
  viewCount: Type.Integer(),
});
export type ShareInfo = Static<typeof ShareSchema>;

export const CreateShareBody = Type.Object({
  kind: ShareKindSchema,
  id: Id,
  expiresInDays: Type.Optional(
    // One type list (not anyOf): AJV's coercion then leaves null and 0 as they are, instead of
    // turning null into 0 or 0 into null. Bounds are checked by the service.
    Type.Unsafe<number | null>({
      type: ['integer', 'null'],
      description: `Default 30; 1–${MAX_SHARE_DAYS}; null = never expires.`,
    }),
  ),
});

export const SharedTrack = Type.Object({
  id: Type.String(),
  title: Type.String(),
  artist: Nullable(Type.String()),
  album: Nullable(Type.String()),
  duration: Nullable(Type.Number()),
  streamUrl: Type.String(),
});

export const ShareData = Type.Object({
  kind: ShareKindSchema,
  title: Type.String(),
  subtitle: Nullable(Type.String()),
  coverUrl: Type.String(),
  expiresAt: Nullable(Type.Integer()),
  tracks: Type.Array(SharedTrack),
});

export const TokenParams = Type.Object({ token: Type.String({ pattern: SHARE_TOKEN_PATTERN }) });
export const TokenTrackParams = Type.Object({
  token: Type.String({ pattern: SHARE_TOKEN_PATTERN }),
  trackId: Id,
});
