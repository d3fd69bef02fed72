/**
 * `GET /api/v1/remote/thumbnail` through the real app against a loopback origin: a real image is
 * resized to WebP and cached; text, oversized bodies and loopback addresses (without the test
 * switch) are refused; signed-out requests are refused.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage } from '../test/audio.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { type Origin, startOrigin } from '../test/origin.js';
import { forEachServerEngine } from '../test/engines.js';

let origin: Origin;
let t: TestServer;
let strict: TestServer;
let headers: Record<string, string>;
let strictHeaders: Record<string, string>;

const thumb = (url: string, extra = '') => `/api/v1/remote/thumbnail?url=${encodeURIComponent(url)}${extra}`;

forEachServerEngine(() => {
  beforeAll(async () => {
    origin = await startOrigin();
    // Only the origin's port is reachable on loopback for `t`; `strict` has no test switch at all.
    process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES = String(origin.port);
    t = await startTestServer();
    delete process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES;
    strict = await startTestServer();
    headers = await t.authHeaders(await t.createUser({ username: 'alice' }));
    strictHeaders = await strict.authHeaders(await strict.createUser({ username: 'bob' }));

    const jpg = await makeImage(join(t.dir, 'fixtures', 'cover.jpg'), { width: 640, height: 360, color: 'blue' });
    origin.set('/cover.jpg', { kind: 'file', path: jpg, contentType: 'image/jpeg' });
    const text = join(t.dir, 'fixtures', 'page.html');
    writeFileSync(text, '<html><body>not an image</body></html>'.repeat(20));
    // Lies about its type: the proxy sniffs the bytes, not the header.
    origin.set('/page.png', { kind: 'file', path: text, contentType: 'image/png' });
    const big = join(t.dir, 'fixtures', 'big.jpg');
    const bytes = Buffer.alloc(3 * 1024 * 1024, 0x55);
    bytes.set([0xff, 0xd8, 0xff, 0xe0], 0);
    writeFileSync(big, bytes);
    origin.set('/big.jpg', { kind: 'file', path: big, contentType: 'image/jpeg' });
  });

  afterAll(async () => {
    await t?.close();
    await strict?.close();
    await origin?.close();
  });

  describe('remote thumbnail proxy', () => {
    it('fetches an image from the origin, resizes it to WebP and serves it with long cache headers', async () => {
      const res = await t.app.inject({
        url: thumb(`${origin.base}/cover.jpg`, '&size=100'),
        headers: { ...headers, accept: 'image/webp,image/*' },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toBe('image/webp');
      expect(res.headers['cache-control']).toMatch(/max-age=\d{6,}/);
      expect(res.headers['cache-control']).toContain('private');
      const meta = await sharp(res.rawPayload).metadata();
      expect(meta.format).toBe('webp');
      expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBe(100);
      expect(origin.hits('/cover.jpg')).toBe(1);

      // Second request: from the disk cache, no new upstream fetch; the ETag revalidates.
      const again = await t.app.inject({
        url: thumb(`${origin.base}/cover.jpg`, '&size=100'),
        headers: { ...headers, accept: 'image/webp' },
      });
      expect(again.statusCode).toBe(200);
      expect(again.rawPayload.equals(res.rawPayload)).toBe(true);
      expect(origin.hits('/cover.jpg')).toBe(1);
      const notModified = await t.app.inject({
        url: thumb(`${origin.base}/cover.jpg`, '&size=100'),
        headers: { ...headers, accept: 'image/webp', 'if-none-match': String(res.headers.etag) },
      });
      expect(notModified.statusCode).toBe(304);
      expect(t.earshot.sources.thumbnails.cache.count).toBeGreaterThan(0);
    });

    it('answers JPEG to clients that do not accept WebP', async () => {
      const res = await t.app.inject({
        url: thumb(`${origin.base}/cover.jpg`),
        headers: { ...headers, accept: '*/*' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('image/jpeg');
      expect((await sharp(res.rawPayload).metadata()).format).toBe('jpeg');
    });

    it('refuses content that is not an image, whatever its content-type says', async () => {
      const res = await t.app.inject({ url: thumb(`${origin.base}/page.png`), headers });
      expect(res.statusCode, res.body).toBe(502);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().detail).toMatch(/did not return a JPEG, PNG, WebP or GIF/);
      expect(origin.hits('/page.png')).toBe(1);
    });

    it('refuses an image over the 2 MB cap', async () => {
      const res = await t.app.inject({ url: thumb(`${origin.base}/big.jpg`), headers });
      expect(res.statusCode, res.body).toBe(502);
      expect(res.json().detail).toMatch(/larger than 2048 KB/);
    });

    it('refuses non-http URLs and loopback ports the test switch does not allow', async () => {
      const file = await t.app.inject({ url: thumb('file:///etc/passwd'), headers });
      expect(file.statusCode).toBe(400);
      const otherPort = await t.app.inject({ url: thumb(`http://127.0.0.1:${origin.port + 1}/cover.jpg`), headers });
      expect(otherPort.statusCode).toBe(403);
    });

    it('refuses loopback/private addresses when the test switch is off, before any request is made', async () => {
      const before = origin.hits('/cover.jpg');
      for (const url of [
        `${origin.base}/cover.jpg`,
        `http://localhost:${origin.port}/cover.jpg`,
        `http://[::ffff:127.0.0.1]:${origin.port}/cover.jpg`,
        `http://2130706433:${origin.port}/cover.jpg`,
      ]) {
        const res = await strict.app.inject({ url: thumb(url), headers: strictHeaders });
        expect(res.statusCode, `${url}: ${res.body}`).toBe(403);
        expect(res.json().detail).toMatch(/Refusing to fetch/);
      }
      expect(origin.hits('/cover.jpg')).toBe(before);
    });

    it('refuses signed-out requests', async () => {
      const before = origin.hits('/cover.jpg');
      const res = await t.app.inject({ url: thumb(`${origin.base}/cover.jpg`, '&size=64') });
      expect(res.statusCode).toBe(401);
      expect(origin.hits('/cover.jpg')).toBe(before);
    });
  });
});
