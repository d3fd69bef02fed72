/** TypeBox schemas of the streaming routes (validation, serialization, OpenAPI). */
import { type Static, Type } from '@sinclair/typebox';
import { Id, IdParams } from '../http/schemas.js';

export const TrackIdParams = Type.Object({ trackId: Id });
export { IdParams };

// Strings on purpose: the values are checked by parseStreamQuery so a bad one gets a precise 400.
export const StreamQuerySchema = Type.Object({
  format: Type.Optional(Type.String({ maxLength: 32, description: 'raw | opus | mp3 | aac' })),
  maxBitRate: Type.Optional(
    Type.String({ maxLength: 16, description: 'kbps; clamped to the format range; 0 = no limit' }),
  ),
  timeOffset: Type.Optional(Type.String({ maxLength: 16, description: 'seconds to skip (transcodes only)' })),
  estimateContentLength: Type.Optional(Type.Boolean({ description: 'send an estimated Content-Length on transcodes' })),
  token: Type.Optional(
    Type.String({ maxLength: 400, description: 'stream token from POST /api/v1/tracks/{id}/stream-token' }),
  ),
});

export const MediaResponse = {
  200: Type.String({ format: 'binary', description: 'The audio (whole file or transcode).' }),
  206: Type.String({ format: 'binary', description: 'The requested byte range.' }),
};

export const StreamTokenResponse = Type.Object({
  token: Type.String(),
  url: Type.String({ description: 'Ready-to-play URL carrying the token.' }),
  expiresAt: Type.Integer({ description: 'Unix ms' }),
});

const FormatPref = Type.Union([Type.Literal('raw'), Type.Literal('opus'), Type.Literal('mp3'), Type.Literal('aac')]);

export const StreamPreferencesSchema = Type.Object({
  defaultFormat: FormatPref,
  defaultMaxBitRate: Type.Integer({ description: 'kbps for the default format' }),
  lanOriginal: Type.Boolean({ description: 'original files on the LAN / loopback' }),
  estimateContentLength: Type.Boolean(),
});
/** Per-user streaming quality (`defaultMaxBitRate` is clamped to the format's range when saved). */
export type StreamPreferences = Static<typeof StreamPreferencesSchema>;

export const StreamPreferencesPatch = Type.Object({
  defaultFormat: Type.Optional(FormatPref),
  defaultMaxBitRate: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  lanOriginal: Type.Optional(Type.Boolean()),
  estimateContentLength: Type.Optional(Type.Boolean()),
});
