/**
 * Media: stream and download go through the streaming area's responder (the same code path as
 * `/stream/{id}`: Range/206, transcodes, the remote caching proxy), getCoverArt through the artwork
 * service, lyrics from the tags. Binary answers are written here; failures before the first byte
 * become Subsonic errors (HTTP 200, XML/JSON) like every other method.
 */
import { imageFormatFor, sendImage } from '../../streaming/artwork.routes.js';
import type { RenderedImage } from '../../streaming/artwork.service.js';
import { isLanAddress } from '../../streaming/network.js';
import { respondWithStream } from '../../streaming/stream-responder.js';
import type { Listener } from '../../streaming/stream.service.js';
import { type ParsedStreamQuery, parseStreamQuery, TRANSCODE_FORMATS } from '../../streaming/transcode-profiles.js';
import type { Ctx, Method } from '../context.js';
import { SENT } from '../context.js';

import { ErrorCode, SubsonicError } from '../errors.js';
import { parseLyrics } from '../lyrics.js';

const COVER_CACHE = 'private, max-age=86400';

/**
 * Subsonic semantics: no `format` and no `maxBitRate` = the original file (seekable by Range);
 * `format=raw` likewise; a known format or a bitrate cap = a transcode. Formats this server does
 * not encode (e.g. `flac`) fall back to the original rather than failing playback.
 */
function streamQuery(ctx: Ctx, download: boolean): ParsedStreamQuery {
  if (download) return { format: 'raw', timeOffset: 0 };
  const p = ctx.params;
  const format = p.str('format')?.toLowerCase();
  const known = format === 'raw' || (format !== undefined && (TRANSCODE_FORMATS as readonly string[]).includes(format));
  const maxBitRate = p.str('maxBitRate');
  const parsed = parseStreamQuery({
    format: known ? format : maxBitRate && maxBitRate !== '0' ? undefined : 'raw',
    maxBitRate,
    timeOffset: p.str('timeOffset'),
  });
  return parsed;
}

async function stream(ctx: Ctx, download: boolean): Promise<typeof SENT> {
  const id = ctx.params.req('id');
  const { streaming, preferences } = ctx.deps;
  const track = await streaming.service.findTrack(id);
  const query = {
    ...streamQuery(ctx, download),
    estimateContentLength: ctx.params.bool('estimateContentLength', false),
  };
  const listener: Listener = {
    key: ctx.user.id,
    preferences: await preferences.get(ctx.user.id),
    onLan: isLanAddress(ctx.request.clientIp),
  };
  if (download) {
    const name = `${track.title}`.replace(/[^\p{L}\p{N} ._-]+/gu, '_').slice(0, 120) || 'track';
    ctx.reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name)}`);
  }
  await respondWithStream(streaming.responder, ctx.request, ctx.reply, track, query, listener, ctx.user);
  return SENT;
}

async function coverImage(ctx: Ctx, id: string, size: number | undefined): Promise<RenderedImage> {
  const { artwork } = ctx.deps.streaming;
  const format = imageFormatFor(ctx.request);
  const dash = id.indexOf('-');
  const kind = dash === 2 ? id.slice(0, 2) : '';
  const raw = kind ? id.slice(3) : id;
  if (kind === 'al') return artwork.albumCover(raw, size, format);
  if (kind === 'ar') {
    const artist = await ctx.deps.browse.artist(raw);
    if (!artist) throw new SubsonicError(ErrorCode.NotFound, `Cover art not found: ${id}`);
    if (artist.artwork_id) {
      try {
        return await artwork.artwork(artist.artwork_id, size, format);
      } catch {
        // fall through to the placeholder, as album covers do
      }
    }
    return artwork.placeholder(artist.id, artist.name, size, format);
  }
  if (kind === 'tr' || !kind) {
    const [song] = await ctx.deps.browse.songs([raw]);
    if (song && !song.artwork_id && !song.album_id && song.thumbnail_url && ctx.deps.thumbnails) {
      // A remote track's own thumbnail, fetched and resized by the server (never the client).
      try {
        return await ctx.deps.thumbnails.get(song.thumbnail_url, size, format);
      } catch (err) {
        ctx.request.log.warn({ err, trackId: song.id }, 'remote thumbnail unavailable; placeholder served');
      }
    }
    if (song) return artwork.trackCover(raw, size, format);
    if (!kind && (await ctx.deps.browse.album(raw))) return artwork.albumCover(raw, size, format);
  }
  throw new SubsonicError(ErrorCode.NotFound, `Cover art not found: ${id}`);
}

export const mediaMethods: Record<string, Method> = {
  stream: (ctx) => stream(ctx, false),
  download: (ctx) => stream(ctx, true),

  getCoverArt: async (ctx) => {
    const id = ctx.params.req('id');
    const size = ctx.params.optInt('size');
    const image = await coverImage(ctx, id, size !== undefined && size > 0 ? size : undefined);
    await sendImage(ctx.request, ctx.reply, image, COVER_CACHE);
    return SENT;
  },

  getAvatar: async (ctx) => {
    const username = ctx.params.str('username') ?? ctx.user.username;
    const image = await ctx.deps.streaming.artwork.placeholder(
      `avatar:${username.toLowerCase()}`,
      username,
      256,
      'jpeg',
    );
    await sendImage(ctx.request, ctx.reply, image, COVER_CACHE);
    return SENT;
  },

  getLyrics: async (ctx) => {
    const artist = ctx.params.str('artist') || undefined;
    const title = ctx.params.str('title');
    if (!title) return { lyrics: {} };
    const found = await ctx.deps.browse.lyricsByTags(artist, title);
    if (!found?.lyrics) return { lyrics: { artist, title } };
    const plain = parseLyrics(found.lyrics)
      .lines.map((l) => l.value)
      .join('\n');
    return { lyrics: { artist: found.artist ?? undefined, title: found.title, value: plain } };
  },

  getLyricsBySongId: async (ctx) => {
    const id = ctx.params.req('id');
    const [song] = await ctx.deps.browse.songs([id]);
    if (!song) throw new SubsonicError(ErrorCode.NotFound, `Song not found: ${id}`);
    const text = await ctx.deps.browse.lyricsOf(id);
    if (!text) return { lyricsList: { structuredLyrics: [] } };
    const parsed = parseLyrics(text);
    return {
      lyricsList: {
        structuredLyrics: [
          {
            displayArtist: song.artist ?? '',
            displayTitle: song.title,
            lang: 'xxx',
            offset: parsed.offsetMs,
            synced: parsed.synced,
            line: parsed.lines.map((l) => (parsed.synced ? { start: l.startMs, value: l.value } : { value: l.value })),
          },
        ],
      },
    };
  },
};
