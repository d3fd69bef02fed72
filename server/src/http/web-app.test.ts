/**
 * Serving the built SPA: history fallback for HTML navigations, immutable hashed assets,
 * uncached index/service worker/manifest, and API 404s that stay JSON.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorHandling } from './error-handler.js';
import { registerWebApp } from './web-app.js';

let dir: string;
let app: FastifyInstance;
const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><title>Earshot</title><script type="module" src="/assets/app-abc123.js"></script>',
  );
  writeFileSync(join(dir, 'assets/app-abc123.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
  writeFileSync(join(dir, 'sw.js'), 'self.addEventListener("fetch", () => {});');
  writeFileSync(join(dir, 'manifest.webmanifest'), '{"name":"Earshot"}');
  app = Fastify();
  registerErrorHandling(app);
  app.get('/api/v1/albums', async () => ({ items: [] }));
  registerWebApp(app, { logger: pino({ level: 'silent' }), root: dir });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('web app serving', () => {
  it('serves index.html at / and for client-side routes, uncached', async () => {
    for (const url of ['/', '/albums', '/album/01ABC', '/admin', '/setup?token=abc', '/playlist/x/y']) {
      const res = await app.inject({ url, headers: HTML });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.body).toContain('<title>Earshot</title>');
    }
  });

  it('serves hashed assets immutably, gzipped when asked, with ETag revalidation', async () => {
    const res = await app.inject({ url: '/assets/app-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['content-type']).toMatch(/javascript/);
    const again = await app.inject({
      url: '/assets/app-abc123.js',
      headers: { 'if-none-match': String(res.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
  });

  it('serves the shell at / and /index.html to plain fetches too (service worker precache)', async () => {
    for (const url of ['/', '/index.html']) {
      const res = await app.inject({ url, headers: { accept: '*/*' } });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('never caches the service worker or the manifest', async () => {
    const sw = await app.inject({ url: '/sw.js' });
    expect(sw.statusCode).toBe(200);
    expect(sw.headers['cache-control']).toBe('no-cache');
    const manifest = await app.inject({ url: '/manifest.webmanifest' });
    expect(manifest.headers['content-type']).toMatch(/application\/manifest\+json/);
    expect(manifest.headers['cache-control']).toBe('no-cache');
  });

  it('keeps API surfaces out of the fallback: their 404s stay problem JSON', async () => {
    for (const url of [
      '/api/v1/nope',
      '/auth/nope',
      '/stream/nope',
      '/share/nope',
      '/rest/ping.view',
      '/system/x',
      '/healthz',
      '/metrics',
      '/api',
    ]) {
      const res = await app.inject({ url, headers: HTML });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/application\/problem\+json/);
    }
    const ok = await app.inject({ url: '/api/v1/albums', headers: HTML });
    expect(ok.json()).toEqual({ items: [] });
  });

  it('answers 404 for a missing asset and for non-HTML requests instead of index.html', async () => {
    expect((await app.inject({ url: '/assets/old-chunk-zzz.js', headers: HTML })).statusCode).toBe(404);
    expect((await app.inject({ url: '/favicon-missing.png', headers: { accept: 'image/*' } })).statusCode).toBe(404);
    expect((await app.inject({ url: '/albums', method: 'POST', headers: HTML })).statusCode).toBe(404);
  });

  it('does not serve files outside the build folder', async () => {
    for (const url of [
      '/../package.json',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/assets/..%2f..%2fetc%2fpasswd',
      '/%E0%A4%A',
    ]) {
      const res = await app.inject({ url, headers: { accept: '*/*' } });
      // Fastify itself rejects malformed percent-encoding with 400; everything else is a 404.
      expect([400, 404], url).toContain(res.statusCode);
      expect(res.body).not.toContain('earshot');
    }
  });
});
