import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachServerEngine } from '../test/engines.js';
import { makeImage } from '../test/audio.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { addAlbum, addArtworkRow } from '../test/streaming.js';
import { escapeXml, initialsOf, placeholderSvg } from './placeholder.js';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** A valid-looking PNG header declaring width×height with only a few rows of data: a decompression bomb's shape. */
function bombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = deflateSync(Buffer.alloc((width * 3 + 1) * 4));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', rows),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

forEachServerEngine(() => {
  describe('cover art', () => {
    let t: TestServer;
    let headers: Record<string, string>;
    let art: string; // 800×600 JPEG

    beforeAll(async () => {
      t = await startTestServer({ env: { EARSHOT_ARTWORK_CACHE_MB: '5' } });
      headers = await t.authHeaders(await t.createUser());
      const file = await makeImage(join(t.earshot.paths.artworkDir, 'ab', 'cover.jpg'), {
        width: 800,
        height: 600,
        color: 'blue',
      });
      art = await addArtworkRow(t.earshot, file);
    });
    afterAll(() => t.close());

    const get = (url: string, extra: Record<string, string> = {}) =>
      t.app.inject({ url, headers: { ...headers, ...extra } });

    it('needs a signed-in user', async () => {
      expect((await t.app.inject({ url: `/api/v1/artwork/${art}` })).statusCode).toBe(401);
    });

    it('resizes to WebP with long-lived immutable caching and an ETag', async () => {
      const res = await get(`/api/v1/artwork/${art}?size=300`, { accept: 'image/avif,image/webp,*/*' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('image/webp');
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      const meta = await sharp(res.rawPayload).metadata();
      expect(meta.format).toBe('webp');
      expect([meta.width, meta.height]).toEqual([300, 225]);
      const again = await get(`/api/v1/artwork/${art}?size=300`, {
        accept: 'image/webp',
        'if-none-match': String(res.headers.etag),
      });
      expect(again.statusCode).toBe(304);
    });

    it('sends JPEG to clients that do not accept WebP', async () => {
      const res = await get(`/api/v1/artwork/${art}?size=120`, { accept: 'image/jpeg,image/png' });
      expect(res.headers['content-type']).toBe('image/jpeg');
      expect((await sharp(res.rawPayload).metadata()).width).toBe(120);
      expect((await get(`/api/v1/artwork/${art}?size=120`, { accept: '*/*' })).headers['content-type']).toBe(
        'image/jpeg',
      );
    });

    it('clamps huge sizes to the source (one cache entry for all of them) (SECURITY.md 19)', async () => {
      const huge = await get(`/api/v1/artwork/${art}?size=100000000`);
      const big = await get(`/api/v1/artwork/${art}?size=5000`);
      const none = await get(`/api/v1/artwork/${art}`);
      expect(huge.statusCode).toBe(200);
      expect((await sharp(huge.rawPayload).metadata()).width).toBe(800);
      expect(huge.headers.etag).toBe(big.headers.etag);
      expect(none.headers.etag).toBe(big.headers.etag);
    });

    it.each(['-1', 'abc', '0', '1.5'])('size=%s → 400', async (size) => {
      expect((await get(`/api/v1/artwork/${art}?size=${size}`)).statusCode).toBe(400);
    });

    it.each(['..%2F..%2Fetc%2Fpasswd', '%2e%2e%2f', '..%5c', '%00'])('id %s → 400/404', async (id) => {
      expect([400, 404]).toContain((await get(`/api/v1/artwork/${id}`)).statusCode);
    });

    it('a 14000×14000 PNG bomb is refused from its header, without decoding (SECURITY.md 20)', async () => {
      const file = join(t.earshot.paths.artworkDir, 'bomb.png');
      await writeFile(file, bombPng(14000, 14000));
      const id = await addArtworkRow(t.earshot, file, 'image/png');
      const rssBefore = process.memoryUsage().rss;
      const res = await get(`/api/v1/artwork/${id}?size=300`);
      expect(res.statusCode).toBe(422);
      expect(res.json().detail).toMatch(/too large/);
      // A decode would need ~590 MB of pixels.
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(150 * 1024 * 1024);
    });

    it('a JPEG declaring huge dimensions is refused', async () => {
      const jpeg = await readFile(await makeImage(join(t.dir, 'small.jpg'), { width: 64, height: 64 }));
      const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
      expect(sof).toBeGreaterThan(0);
      jpeg.writeUInt16BE(60000, sof + 5);
      jpeg.writeUInt16BE(60000, sof + 7);
      const file = join(t.earshot.paths.artworkDir, 'huge.jpg');
      await writeFile(file, jpeg);
      const id = await addArtworkRow(t.earshot, file);
      expect((await get(`/api/v1/artwork/${id}?size=100`)).statusCode).toBe(422);
    });

    it('an SVG (with an external reference) is never decoded or served', async () => {
      const file = join(t.earshot.paths.artworkDir, 'evil.svg');
      await writeFile(
        file,
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"><image xlink:href="http://127.0.0.1:1/x.png" width="10" height="10"/></svg>',
      );
      const id = await addArtworkRow(t.earshot, file, 'image/svg+xml');
      const res = await get(`/api/v1/artwork/${id}`);
      expect(res.statusCode).toBe(422);
      expect(res.headers['content-type']).not.toContain('svg');
    });

    it('an artwork row pointing outside the cache dir is not read', async () => {
      const id = 'outsideArtwork1';
      await t.earshot.database.db
        .insertInto('artwork')
        .values({
          id,
          path: '../../../etc/passwd',
          mime: 'image/jpeg',
          width: 1,
          height: 1,
          size: 1,
          created_at: Date.now(),
        })
        .execute();
      expect((await get(`/api/v1/artwork/${id}`)).statusCode).toBe(404);
    });

    it('remote thumbnails stored as artwork rows are served the same way', async () => {
      const file = await makeImage(join(t.earshot.paths.artworkDir, 'remote', 'thumb.jpg'), {
        width: 480,
        height: 360,
      });
      const id = await addArtworkRow(t.earshot, file);
      await t.earshot.database.db.updateTable('artwork').set({ source: 'remote' }).where('id', '=', id).execute();
      const res = await get(`/api/v1/artwork/${id}?size=200`);
      expect(res.statusCode).toBe(200);
      expect((await sharp(res.rawPayload).metadata()).width).toBe(200);
    });

    it('album covers: the art when there is some, a deterministic placeholder otherwise', async () => {
      const withArt = await addAlbum(t.earshot, 'Blue', art);
      const res = await get(`/api/v1/albums/${withArt}/cover?size=200`);
      expect(res.statusCode).toBe(200);
      expect((await sharp(res.rawPayload).stats()).dominant.b).toBeGreaterThan(150);

      const bare = await addAlbum(t.earshot, '<img src=x onerror=alert(1)> "Hits"');
      const ph = await get(`/api/v1/albums/${bare}/cover?size=256`, { accept: 'image/webp,*/*' });
      expect(ph.statusCode).toBe(200);
      expect(ph.headers['content-type']).toBe('image/webp');
      const meta = await sharp(ph.rawPayload).metadata();
      expect([meta.width, meta.height]).toEqual([256, 256]);
      // Deterministic: the same album always gets the same picture.
      expect(placeholderSvg(bare, 'X', 64)).toBe(placeholderSvg(bare, 'X', 64));
      expect(placeholderSvg(bare, 'X', 64)).not.toBe(placeholderSvg(withArt, 'X', 64));
      expect((await get(`/api/v1/albums/nosuchalbum/cover`)).statusCode).toBe(404);
    });

    it('placeholder text is escaped', () => {
      expect(initialsOf('the dark side')).toBe('TD');
      expect(initialsOf('<img src=x onerror=alert(1)>')).toBe('IS');
      expect(initialsOf('   ')).toBe('♪');
      expect(escapeXml('<a href="x">&\'')).toBe('&#60;a href=&#34;x&#34;&#62;&#38;&#39;');
      expect(placeholderSvg('id', '<script>', 64)).not.toContain('<script');
    });

    it('the resized-art cache stays under its size cap', async () => {
      const cache = t.earshot.streaming.artworkCache;
      for (let size = 100; size <= 800; size += 20) await get(`/api/v1/artwork/${art}?size=${size}`);
      expect(cache.sizeBytes).toBeLessThanOrEqual(5 * 1024 * 1024);
      expect(cache.count).toBeGreaterThan(0);
    });
  });
});

describe('DiskLru', () => {
  it('evicts least recently used entries past the cap and removes crash leftovers', async () => {
    const { mkdtempSync, readdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { DiskLru } = await import('./disk-lru.js');
    const dir = mkdtempSync(join(tmpdir(), 'earshot-lru-'));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, '.a.webp.1234.part'), 'partial');
    const lru = new DiskLru(dir, 250);
    expect(readdirSync(dir)).toEqual([]);
    await lru.put('a.webp', Buffer.alloc(100));
    await lru.put('b.webp', Buffer.alloc(100));
    expect(lru.get('a.webp')).not.toBeNull(); // a is now more recent than b
    await lru.put('c.webp', Buffer.alloc(100));
    expect(lru.get('b.webp')).toBeNull();
    expect(lru.get('a.webp')).not.toBeNull();
    expect(readdirSync(dir).sort()).toEqual(['a.webp', 'c.webp']);
    expect(lru.sizeBytes).toBe(200);
    // A restart sees the same entries.
    expect(new DiskLru(dir, 250).count).toBe(2);
  });
});
