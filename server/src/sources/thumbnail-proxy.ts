/**
 * Remote thumbnails for the web app: `GET /api/v1/remote/thumbnail?url=…` fetches a search hit's
 * `thumbnailUrl` (YouTube/SoundCloud CDNs) on the server, so the page keeps its strict
 * `img-src 'self'` CSP and the browser never talks to a third party.
 *
 * - Signed-in users only; http(s) URLs only, fetched through the SSRF-safe image fetch
 *   (cache/thumbnail.ts: every hop's address checked against the address policy and pinned), so
 *   loopback, private and metadata addresses are refused (403) unless the test switch allows them.
 * - Capped: 2 MB per image (declared and streamed), 8 s per fetch, 6 fetches at a time.
 * - Only real images: magic bytes first (JPEG/PNG/WebP/GIF), then sharp's header with a pixel
 *   limit; anything else is a 502 and never reaches a decoder twice (short negative cache).
 * - Re-encoded by sharp to a small WebP (JPEG for clients without WebP), stored in a bounded
 *   disk LRU under `<cache>/thumbnails/`, and sent with long private cache headers.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Metadata } from 'sharp';
import { loadSharp } from '../shared/sharp.js';
import { readFile } from 'node:fs/promises';
import { BadGateway, DomainError, TooManyRequests } from '../shared/errors.js';
import { sha256 } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { ImageResponse, imageFormatFor, sendImage } from '../streaming/artwork.routes.js';
import type { ImageFormat, RenderedImage } from '../streaming/artwork.service.js';
import { DiskLru } from '../streaming/disk-lru.js';
import { fetchImage } from './cache/thumbnail.js';
import { type AddressPolicy, type LookupFn, parseSourceUrl } from './net/address-policy.js';
import { MAX_OFFSET } from '../http/schemas.js';

const MB = 1024 * 1024;

export const THUMBNAIL_LIMITS = {
  maxBytes: 2 * MB,
  timeoutMs: 8_000,
  /** Concurrent upstream fetches (a search page asks for ~20 at once). */
  concurrency: 6,
  /** Waiting fetches beyond this are refused with 429 rather than queued forever. */
  maxQueued: 100,
  maxInputPixels: 25_000_000,
  defaultSize: 120,
  maxSize: 480,
  cacheBytes: 32 * MB,
  /** How long a failed URL is answered from memory instead of being fetched again. */
  failureTtlMs: 60_000,
};

/** Sent with every thumbnail: the same URL and size always render the same image. */
export const THUMBNAIL_CACHE_CONTROL = 'private, max-age=2592000, immutable';

type Sniffed = 'jpeg' | 'png' | 'webp' | 'gif';

/** Image formats recognised by their magic bytes (never by the upstream's content-type). */
export function sniffImageBytes(b: Buffer): Sniffed | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'png';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 6 && /^GIF8[79]a$/.test(b.toString('latin1', 0, 6))) return 'gif';
  return null;
}

export interface ThumbnailProxyOptions {
  cacheDir: string;
  policy: AddressPolicy;
  lookup?: LookupFn;
  logger: Logger;
  limits?: Partial<typeof THUMBNAIL_LIMITS>;
}

export class ThumbnailProxy {
  readonly limits: typeof THUMBNAIL_LIMITS;
  readonly cache: DiskLru;
  private readonly inFlight = new Map<string, Promise<RenderedImage>>();
  private readonly failures = new Map<string, { error: DomainError; until: number }>();
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** Upstream fetches started (tests and metrics). */
  fetches = 0;

  constructor(private readonly o: ThumbnailProxyOptions) {
    this.limits = { ...THUMBNAIL_LIMITS, ...o.limits };
    this.cache = new DiskLru(`${o.cacheDir}/thumbnails`, this.limits.cacheBytes);
  }

  /** The thumbnail at `input`, resized to fit `size`×`size`, as WebP or JPEG. */
  async get(input: string, requested: number | undefined, format: ImageFormat): Promise<RenderedImage> {
    const url = parseSourceUrl(input).href;
    const size = Math.min(Math.max(Math.round(requested ?? this.limits.defaultSize), 16), this.limits.maxSize);
    const key = sha256(url);
    const name = `${key}-${size}.${format === 'webp' ? 'webp' : 'jpg'}`;
    const contentType = format === 'webp' ? 'image/webp' : 'image/jpeg';
    const etag = `"t-${key.slice(0, 24)}-${size}-${format}"`;

    const hit = this.cache.get(name);
    if (hit) {
      try {
        return { data: await readFile(hit), contentType, etag };
      } catch {
        this.cache.forget(name);
      }
    }
    const failed = this.failures.get(key);
    if (failed && failed.until > Date.now()) throw failed.error;

    const running = this.inFlight.get(name);
    if (running) return running;
    const job = this.render(url, size, format)
      .then(async (data) => {
        this.failures.delete(key);
        await this.cache.put(name, data).catch((err) => this.o.logger.warn({ err }, 'thumbnail cache write failed'));
        return { data, contentType, etag };
      })
      .catch((err: unknown) => {
        const error = err instanceof DomainError ? err : new BadGateway('The image could not be fetched.');
        // Policy refusals (403) and bad input (400) are answered the same way every time anyway.
        if (error.status === 502) this.rememberFailure(key, error);
        throw error;
      })
      .finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, job);
    return job;
  }

  private rememberFailure(key: string, error: DomainError): void {
    if (this.failures.size >= 1000) this.failures.delete(this.failures.keys().next().value as string);
    this.failures.set(key, { error, until: Date.now() + this.limits.failureTtlMs });
  }

  private async render(url: string, size: number, format: ImageFormat): Promise<Buffer> {
    const bytes = await this.withSlot(() => {
      this.fetches += 1;
      return fetchImage(url, this.o.policy, {
        lookup: this.o.lookup,
        timeoutMs: this.limits.timeoutMs,
        maxBytes: this.limits.maxBytes,
      });
    });
    if (!sniffImageBytes(bytes)) throw notAnImage();
    const sharp = await loadSharp();
    let meta: Metadata;
    try {
      meta = await sharp(bytes, { limitInputPixels: this.limits.maxInputPixels }).metadata();
    } catch {
      throw notAnImage();
    }
    if (!meta.width || !meta.height) throw notAnImage();
    if (meta.width * meta.height > this.limits.maxInputPixels)
      throw new BadGateway('The image has too many pixels.', { details: { reason: 'too_large' } });
    try {
      const pipeline = sharp(bytes, {
        limitInputPixels: this.limits.maxInputPixels,
        animated: false,
        failOn: 'error',
      })
        .rotate()
        .resize(size, size, { fit: 'inside', withoutEnlargement: true });
      return format === 'webp'
        ? await pipeline.webp({ quality: 75, effort: 3 }).toBuffer()
        : await pipeline.jpeg({ quality: 78, mozjpeg: true }).toBuffer();
    } catch {
      throw notAnImage();
    }
  }

  private async withSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limits.concurrency) {
      if (this.waiting.length >= this.limits.maxQueued) throw new TooManyRequests('Too many thumbnails at once.', 2);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.active += 1;
    try {
      return await fn();
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }
}

function notAnImage(): BadGateway {
  return new BadGateway('The URL did not return a JPEG, PNG, WebP or GIF image.', {
    details: { reason: 'not_an_image' },
  });
}

const ThumbnailQuery = Type.Object({
  url: Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL of the image (a `thumbnailUrl`)' }),
  size: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_OFFSET,
      description: `Longest side in pixels; clamped to 16–${THUMBNAIL_LIMITS.maxSize}.`,
    }),
  ),
});

export const thumbnailRoutes: FastifyPluginAsyncTypebox<{ thumbnails: ThumbnailProxy }> = async (
  app,
  { thumbnails },
) => {
  app.get(
    '/api/v1/remote/thumbnail',
    {
      schema: {
        tags: ['sources'],
        summary: 'A remote image (search-hit thumbnail) fetched by the server, checked, resized and cached',
        description:
          'Signed-in users only. The URL is fetched with the same SSRF rules as remote sources (private, loopback and metadata addresses are refused with 403), capped at 2 MB and 8 s, must be a JPEG/PNG/WebP/GIF (502 otherwise) and is re-encoded to WebP (JPEG when WebP is not accepted).',
        querystring: ThumbnailQuery,
        response: ImageResponse,
      },
    },
    async (request, reply) => {
      const image = await thumbnails.get(request.query.url, request.query.size, imageFormatFor(request));
      return sendImage(request, reply, image, THUMBNAIL_CACHE_CONTROL);
    },
  );
};
