/**
 * Termux on Android: sharp has no Android build, so `import('sharp')` fails there. Here sharp is
 * made unloadable the same way (its import throws); cover art must degrade to the original image
 * and the placeholder to its SVG — never a 500 or a crash.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeImage } from '../test/audio.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { addAlbum, addArtworkRow } from '../test/streaming.js';

vi.mock('sharp', () => {
  throw new Error('Could not load the "sharp" module using the android-arm64 runtime');
});

describe('cover art without sharp (Android)', () => {
  let t: TestServer;
  let headers: Record<string, string>;
  let art: string;
  let file: string;

  beforeAll(async () => {
    t = await startTestServer();
    headers = await t.authHeaders(await t.createUser());
    file = await makeImage(join(t.earshot.paths.artworkDir, 'cd', 'cover.jpg'), { width: 640, height: 480 });
    art = await addArtworkRow(t.earshot, file);
  });
  afterAll(() => t.close());

  it('sharp really cannot be imported in this test', async () => {
    await expect(import('sharp')).rejects.toThrow();
  });

  it('serves the original image, byte for byte, whatever size is asked', async () => {
    for (const url of [`/api/v1/artwork/${art}?size=64`, `/api/v1/artwork/${art}`]) {
      const res = await t.app.inject({ url, headers: { ...headers, accept: 'image/webp,*/*' } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toBe('image/jpeg');
      expect(res.rawPayload.equals(readFileSync(file))).toBe(true);
      expect(res.headers.etag).toBe(`"${art}-original"`);
    }
  });

  it('album covers work, and an album without art gets the SVG placeholder', async () => {
    const withArt = await addAlbum(t.earshot, 'Blue', art);
    const res = await t.app.inject({ url: `/api/v1/albums/${withArt}/cover?size=128`, headers });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.equals(readFileSync(file))).toBe(true);
    const bare = await addAlbum(t.earshot, 'No Art Here');
    const ph = await t.app.inject({ url: `/api/v1/albums/${bare}/cover?size=128`, headers });
    expect(ph.statusCode).toBe(200);
    expect(ph.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(ph.body).toMatch(/^<svg/);
    expect(ph.body).toContain('NA');
  });
});
