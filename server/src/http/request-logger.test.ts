import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../shared/logger.js';
import { buildHttpApp } from './app.js';

interface Line {
  msg: string;
  level: string;
  reqId?: string;
  n?: number;
}

describe('request loggers made on first use (request-logger.ts)', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Earshot's app on a real pino logger at `level`, its routes, requests; the lines and the children made. */
  async function run(level: string, requests: string[]) {
    dir = mkdtempSync(join(tmpdir(), 'earshot-reqlog-'));
    const file = join(dir, 'log.ndjson');
    const fd = openSync(file, 'w');
    const logger = createLogger({ level, format: 'json', destination: fd });
    // Counts the children pino makes (the real `child`, called through).
    let children = 0;
    const child = logger.child.bind(logger);
    logger.child = ((...args: Parameters<typeof child>) => {
      children++;
      return child(...args);
    }) as typeof logger.child;
    const app = await buildHttpApp({ logger, version: 'test', authenticator: { authenticate: async () => null } });
    const open = { config: { access: 'public' as const } };
    app.get('/quiet', open, async () => 'ok');
    app.get('/warns', open, async (request) => {
      request.log.info({ n: 1 }, 'an info line');
      request.log.warn({ n: 2 }, 'a warning');
      return 'ok';
    });
    app.get('/debugs', open, async (request) => {
      request.log.debug({ n: 3 }, 'a debug line');
      return 'ok';
    });
    // A route with its own level: its logger is its own from the start.
    app.get('/route-level', { ...open, logLevel: 'debug' }, async (request) => {
      request.log.debug({ n: 4 }, 'a route-level debug line');
      return 'ok';
    });
    await app.ready();
    children = 0; // Fastify's own, made once with the app
    const ids: string[] = [];
    for (const url of requests) {
      const res = await app.inject({ url });
      expect(res.statusCode).toBe(200);
      ids.push(String(res.headers['x-request-id']));
    }
    await app.close();
    logger.flush();
    await new Promise((r) => setTimeout(r, 100));
    closeSync(fd);
    const text = readFileSync(file, 'utf8').trim();
    const lines = text ? text.split('\n').map((l) => JSON.parse(l) as Line) : [];
    return { lines: lines.filter((l) => l.reqId), children, ids };
  }

  it('makes no child logger for a request that writes no line at an enabled level', async () => {
    const { lines, children } = await run('info', ['/quiet', '/quiet', '/debugs', '/quiet']);
    expect(lines).toEqual([]);
    // Fastify's own factory makes one per request: 4 here.
    expect(children).toBe(0);
  });

  it('writes the lines a request logs with its request id, from one child made on the first line', async () => {
    const { lines, children, ids } = await run('info', ['/quiet', '/warns', '/debugs', '/warns']);
    expect(lines.map((l) => [l.msg, l.level, l.n, l.reqId])).toEqual([
      ['an info line', 'info', 1, ids[1]],
      ['a warning', 'warn', 2, ids[1]],
      ['an info line', 'info', 1, ids[3]],
      ['a warning', 'warn', 2, ids[3]],
    ]);
    expect(children).toBe(2);
  });

  it('follows the parent level (debug lines at debug) and a route’s own level', async () => {
    const atDebug = await run('debug', ['/debugs']);
    expect(atDebug.lines.map((l) => [l.msg, l.level, l.reqId])).toEqual([
      ['a debug line', 'debug', atDebug.ids[0]],
      ['request completed', 'debug', atDebug.ids[0]],
    ]);
    const routeLevel = await run('info', ['/route-level', '/debugs']);
    expect(routeLevel.lines.map((l) => [l.msg, l.level, l.reqId])).toEqual([
      ['a route-level debug line', 'debug', routeLevel.ids[0]],
      ['request completed', 'debug', routeLevel.ids[0]],
    ]);
  });
});
