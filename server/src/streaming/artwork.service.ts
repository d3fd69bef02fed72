/**
 * Cover art for clients: stored originals (scanner-extracted, folder images, remote thumbnails —
 * `artwork` rows with `path` relative to the cache dir) resized by sharp to WebP (JPEG for clients
 * that do not accept WebP), with the size clamped to the source and a hard maximum, a decoded-pixel
 * limit checked from the header before any decode, and a bounded disk cache of the results.
 * Albums (and shares) without art get a deterministic generated placeholder.
 */
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import type sharp from 'sharp';
import { loadSharp, loadSharpOrNull, type SharpModule } from '../shared/sharp.js';
import { NotFound } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { DiskLru } from './disk-lru.js';
import { UnplayableMedia } from './errors.js';
import { resolveInside } from './media-files.js';
import { placeholderSvg } from './placeholder.js';
import type { StreamRepository } from './stream.repository.js';

export const ARTWORK_MAX_SIZE = 1200;
export const PLACEHOLDER_DEFAULT_SIZE = 512;
/** 40 megapixels (e.g. 6300×6300): any real cover fits; a decompression bomb does not. */
export const ARTWORK_MAX_INPUT_PIXELS = 40_000_000;

export type ImageFormat = 'webp' | 'jpeg';

export interface RenderedImage {
  data: Buffer;
  contentType: string;
  etag: string;
}

/** Raster formats we decode, recognised by magic bytes — never by the stored mime or extension. */
function sniffImage(head: Buffer): 'jpeg' | 'png' | 'webp' | 'gif' | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return 'png';
  }
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') {
    return 'webp';
  }
  if (head.length >= 6 && /^GIF8[79]a$/.test(head.toString('latin1', 0, 6))) return 'gif';
  return null;
}

export class ArtworkService {
  private readonly inFlight = new Map<string, Promise<RenderedImage>>();

  constructor(private readonly o: { repo: StreamRepository; cacheDir: string; cache: DiskLru; logger: Logger }) {}

  /** A stored artwork, resized to fit `requested`×`requested` (clamped). */
  async artwork(id: string, requested: number | undefined, format: ImageFormat): Promise<RenderedImage> {
    const row = await this.o.repo.findArtwork(id);
    if (!row) throw new NotFound('artwork', id);
    const path = await resolveInside(this.o.cacheDir, row.path);
    const handle = await open(path, 'r');
    let kind: ReturnType<typeof sniffImage>;
    try {
      const head = Buffer.alloc(16);
      await handle.read(head, 0, 16, 0);
      kind = sniffImage(head);
    } finally {
      await handle.close();
    }
    if (!kind) throw new UnplayableMedia('This artwork is not a JPEG, PNG, WebP or GIF image and is not served.');
    // Header-only read: dimensions without decoding a single pixel (the limit is enforced below,
    // with a clear message, and again by the resize pipeline).
    const sharp = await this.sharp();
    // No sharp (Android): the original image, as stored, instead of a resized one.
    if (!sharp) return { data: await readFile(path), contentType: `image/${kind}`, etag: `"${id}-original"` };
    let meta: sharp.Metadata;
    try {
      meta = await sharp(path, { limitInputPixels: false }).metadata();
    } catch (err) {
      throw new UnplayableMedia('This artwork image is damaged and cannot be read.', { cause: err });
    }
    const width = meta.width ?? 0;
    const height = meta.height ?? 0;
    if (!width || !height || width * height > ARTWORK_MAX_INPUT_PIXELS) {
      throw new UnplayableMedia(`This artwork image is too large to process (${width}×${height}).`);
    }
    const size = Math.min(requested ?? ARTWORK_MAX_SIZE, Math.max(width, height), ARTWORK_MAX_SIZE);
    // Keyed by the clamped size, so size=5000 and size=100000000 share one cache entry.
    const name = `${id}-${size}.${format === 'webp' ? 'webp' : 'jpg'}`;
    return this.cached(name, `"${id}-${size}-${format}"`, format, async () => {
      const pipeline = sharp(path, { limitInputPixels: ARTWORK_MAX_INPUT_PIXELS, animated: false, failOn: 'error' })
        .rotate()
        .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true });
      return encode(pipeline, format);
    });
  }

  /** Generated cover for an item without art: colour from `seed`, initials of `label`. */
  async placeholder(
    seed: string,
    label: string,
    requested: number | undefined,
    format: ImageFormat,
  ): Promise<RenderedImage> {
    const size = Math.min(requested ?? PLACEHOLDER_DEFAULT_SIZE, ARTWORK_MAX_SIZE);
    const key = createHash('sha256').update(`${seed}\0${label}`).digest('hex').slice(0, 32);
    const name = `ph-${key}-${size}.${format === 'webp' ? 'webp' : 'jpg'}`;
    if (!(await this.sharp())) {
      // No sharp: the placeholder as the SVG it is drawn from (every browser shows it).
      const svg = Buffer.from(placeholderSvg(seed, label, size));
      return { data: svg, contentType: 'image/svg+xml', etag: `"ph-${key}-${size}-svg"` };
    }
    return this.cached(name, `"ph-${key}-${size}-${format}"`, format, async () => {
      const sharp = await loadSharp();
      return encode(sharp(Buffer.from(placeholderSvg(seed, label, size))), format);
    });
  }

  private sharp(): Promise<SharpModule | null> {
    return loadSharpOrNull((err) =>
      this.o.logger.warn(
        { area: 'streaming', err: err.message },
        'sharp cannot be loaded on this system: cover art is served unresized (original files)',
      ),
    );
  }

  /** The album's art, or its placeholder. */
  async albumCover(albumId: string, requested: number | undefined, format: ImageFormat): Promise<RenderedImage> {
    const album = await this.o.repo.findAlbum(albumId);
    if (!album) throw new NotFound('album', albumId);
    if (album.artwork_id) return this.artworkOr(album.artwork_id, album.id, album.name, requested, format);
    return this.placeholder(album.id, album.name, requested, format);
  }

  /** The track's own art, else its album's, else a placeholder. */
  async trackCover(trackId: string, requested: number | undefined, format: ImageFormat): Promise<RenderedImage> {
    const t = await this.o.repo.findTrackCover(trackId);
    if (!t) throw new NotFound('track', trackId);
    const artworkId = t.track_artwork_id ?? t.album_artwork_id;
    const seed = t.album_id ?? t.id;
    const label = t.album ?? t.title;
    if (artworkId) return this.artworkOr(artworkId, seed, label, requested, format);
    return this.placeholder(seed, label, requested, format);
  }

  /** Art whose file went missing or is unusable falls back to the placeholder rather than a broken image. */
  private async artworkOr(id: string, seed: string, label: string, requested: number | undefined, format: ImageFormat) {
    try {
      return await this.artwork(id, requested, format);
    } catch (err) {
      if (!(err instanceof NotFound) && !(err instanceof UnplayableMedia)) throw err;
      this.o.logger.warn({ area: 'streaming', artworkId: id, err }, 'artwork unusable; serving a placeholder');
      return this.placeholder(seed, label, requested, format);
    }
  }

  private async cached(
    name: string,
    etag: string,
    format: ImageFormat,
    render: () => Promise<Buffer>,
  ): Promise<RenderedImage> {
    const contentType = format === 'webp' ? 'image/webp' : 'image/jpeg';
    const hit = this.o.cache.get(name);
    if (hit) {
      try {
        return { data: await readFile(hit), contentType, etag };
      } catch {
        this.o.cache.forget(name);
      }
    }
    // Concurrent requests for the same rendition share one resize.
    let pending = this.inFlight.get(name);
    if (!pending) {
      pending = (async () => {
        let data: Buffer;
        try {
          data = await render();
        } catch (err) {
          throw new UnplayableMedia('This artwork image could not be processed.', { cause: err });
        }
        await this.o.cache.put(name, data).catch((err) => {
          this.o.logger.warn({ area: 'streaming', err }, 'artwork cache write failed');
        });
        return { data, contentType, etag };
      })().finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, pending);
    }
    return pending;
  }
}

function encode(pipeline: sharp.Sharp, format: ImageFormat): Promise<Buffer> {
  return format === 'webp'
    ? pipeline.webp({ quality: 80, effort: 3 }).toBuffer()
    : pipeline.flatten({ background: '#000000' }).jpeg({ quality: 82, mozjpeg: true }).toBuffer();
}
