import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHttpApp } from '../http/app.js';
import { createLogger, redactUrl } from './logger.js';

describe('redactUrl', () => {
  it('hides credential query values and capability path segments, keeps the rest', () => {
    expect(redactUrl('/stream/t1?token=abc.def&format=opus')).toBe('/stream/t1?token=[redacted]&format=opus');
    expect(redactUrl('/rest/ping.view?u=ann&p=enc:6869&v=1.16.1&c=app')).toBe(
      '/rest/ping.view?u=ann&p=[redacted]&v=1.16.1&c=app',
    );
    expect(redactUrl('/rest/ping?u=ann&t=26719a1196d2a940705a59634eb18eab&s=c19b2d')).toBe(
      '/rest/ping?u=ann&t=[redacted]&s=[redacted]',
    );
    expect(redactUrl('/rest/ping?apiKey=k1&f=json')).toBe('/rest/ping?apiKey=[redacted]&f=json');
    expect(redactUrl('/share/AbC123_x/stream/t9?x=1')).toBe('/share/[redacted]/stream/t9?x=1');
    expect(redactUrl('/auth/invite/tok')).toBe('/auth/invite/[redacted]');
    expect(redactUrl('/api/v1/albums?limit=20&sort=name')).toBe('/api/v1/albums?limit=20&sort=name');
    expect(redactUrl('/x?%74oken=abc&bad=%E0')).toBe('/x?%74oken=[redacted]&bad=%E0');
  });
});

describe('request logs', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a real Fastify app with our logger writes no stream or share token into its request lines', async () => {
    dir = mkdtempSync(join(tmpdir(), 'earshot-log-'));
    const file = join(dir, 'log.ndjson');
    const fd = openSync(file, 'w');
    const logger = createLogger({ level: 'info', format: 'json', destination: fd });
    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger });
    app.get('/stream/:id', async () => 'ok');
    app.get('/share/:token', async () => 'ok');
    await app.ready();
    await app.inject({ url: '/stream/t1?token=SECRET-STREAM-TOKEN&format=mp3' });
    await app.inject({ url: '/share/SECRET-SHARE-TOKEN' });
    await app.close();
    logger.flush();
    await new Promise((r) => setTimeout(r, 100));
    closeSync(fd);
    const text = readFileSync(file, 'utf8');
    const urls = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { req?: { url?: string } })
      .flatMap((l) => (l.req?.url ? [l.req.url] : []));
    expect(urls).toEqual(['/stream/t1?token=[redacted]&format=mp3', '/share/[redacted]']);
    expect(text).not.toContain('SECRET');
  });

  it("Earshot's app: no Fastify request lines at info, one 'request completed' line at debug, no deprecation", async () => {
    dir = mkdtempSync(join(tmpdir(), 'earshot-log-'));
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(w.code ?? w.name);
    process.on('warning', onWarning);
    const linesAt = async (level: string) => {
      const file = join(dir, `${level}.ndjson`);
      const fd = openSync(file, 'w');
      const logger = createLogger({ level, format: 'json', destination: fd });
      const app = await buildHttpApp({ logger, version: 'test', authenticator: { authenticate: async () => null } });
      app.get('/hello', { config: { access: 'public' } }, async () => 'ok');
      await app.ready();
      expect((await app.inject({ url: '/hello?token=SECRET' })).statusCode).toBe(200);
      await app.close();
      logger.flush();
      await new Promise((r) => setTimeout(r, 100));
      closeSync(fd);
      const text = readFileSync(file, 'utf8').trim();
      expect(text).not.toContain('SECRET');
      return text
        ? text.split('\n').map((l) => JSON.parse(l) as { msg: string; level: string; req?: { url?: string } })
        : [];
    };
    try {
      const info = await linesAt('info');
      expect(info.filter((l) => l.req)).toEqual([]);
      const debug = (await linesAt('debug')).filter((l) => l.req);
      expect(debug.map((l) => [l.msg, l.level, l.req?.url])).toEqual([
        ['request completed', 'debug', '/hello?token=[redacted]'],
      ]);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(warnings.filter((c) => c.startsWith('FSTDEP'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
