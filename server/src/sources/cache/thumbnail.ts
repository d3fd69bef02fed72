/**
 * Stores a remote track's thumbnail as an artwork row when the track is cached, so
 * `/api/v1/artwork/:id` serves it from disk like embedded cover art. The fetch is SSRF-safe (every
 * hop's address checked and pinned, as for yt-dlp), bounded in size and time, and only real images
 * (sniffed by sharp, pixel-limited) are kept. Content-addressed: identical thumbnails share a row.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { loadSharp } from '../../shared/sharp.js';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { BadGateway } from '../../shared/errors.js';
import { sha256 } from '../../shared/ids.js';
import { type AddressPolicy, type LookupFn, parseSourceUrl, resolveChecked, urlPort } from '../net/address-policy.js';

const MAX_BYTES = 5 * 1024 * 1024;
const MAX_REDIRECTS = 3;
const MIME: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif' };

async function getOnce(
  url: URL,
  policy: AddressPolicy,
  lookup: LookupFn | undefined,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const pinned = await resolveChecked(url.hostname, urlPort(url), policy, lookup);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      signal,
      // Connect to the checked address, whatever DNS says a moment later.
      lookup: (_host, opts, cb) => {
        if ((opts as { all?: boolean }).all)
          (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
            { address: pinned.address, family: pinned.family },
          ]);
        else cb(null, pinned.address, pinned.family);
      },
      headers: { 'user-agent': 'Earshot', accept: 'image/*' },
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
}

export async function fetchImage(
  input: string,
  policy: AddressPolicy,
  options: { lookup?: LookupFn; timeoutMs?: number; maxBytes?: number } = {},
): Promise<Buffer> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const maxBytes = options.maxBytes ?? MAX_BYTES;
  let url = parseSourceUrl(input);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await getOnce(url, policy, options.lookup, signal);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      url = parseSourceUrl(new URL(res.headers.location, url).href);
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new BadGateway(`The image host answered HTTP ${status}.`, { details: { reason: 'status', status } });
    }
    const tooLarge = () =>
      new BadGateway(`The image is larger than ${Math.round(maxBytes / 1024)} KB.`, {
        details: { reason: 'too_large', maxBytes },
      });
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.destroy();
      throw tooLarge();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy();
        throw tooLarge();
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
  throw new BadGateway('The image host redirected too many times.', { details: { reason: 'redirects' } });
}

export interface StoredArtwork {
  id: string;
  path: string;
  mime: string;
  width: number | null;
  height: number | null;
  size: number;
}

/** Validates image bytes and writes them content-addressed under `<cacheDir>/artwork/`. */
export async function storeArtwork(cacheDir: string, bytes: Buffer): Promise<StoredArtwork> {
  const sharp = await loadSharp();
  const meta = await sharp(bytes, { limitInputPixels: 40_000_000 }).metadata();
  const mime = meta.format ? MIME[meta.format] : undefined;
  if (!mime) throw new Error(`not a supported image (${meta.format ?? 'unknown'})`);
  const id = sha256(bytes);
  const ext = meta.format === 'jpeg' ? 'jpg' : meta.format!;
  const path = join('artwork', id.slice(0, 2), `${id}.${ext}`);
  await writeFileAtomic(join(cacheDir, path), bytes);
  return { id, path, mime, width: meta.width ?? null, height: meta.height ?? null, size: bytes.length };
}
