/**
 * Test origin: a loopback HTTP server serving generated audio files that yt-dlp's generic
 * extractor plays as direct URLs. Each path can misbehave on purpose (drop mid-file, fail,
 * redirect, dribble slowly) and every request is counted, so tests observe what yt-dlp did.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type OriginBehaviour =
  | { kind: 'file'; path: string; contentType?: string }
  /**
   * Sends `afterBytes` of the file, then destroys the socket (origin dropping mid-file); with
   * `times`, only the next `times` requests drop and later ones get the whole file (a flaky origin).
   */
  | { kind: 'drop'; path: string; afterBytes: number; times?: number }
  | { kind: 'status'; status: number }
  | { kind: 'redirect'; location: string }
  /** Sends the file in `chunk`-byte pieces, one every `everyMs`, so a download stays in flight. */
  | { kind: 'slow'; path: string; chunk: number; everyMs: number };

export interface Origin {
  base: string;
  port: number;
  set(path: string, behaviour: OriginBehaviour): string;
  /** GET requests per path (yt-dlp's generic extractor probes once, then downloads). */
  hits(path: string): number;
  /** Resolves when a request for `path` arrives (the n-th one, counting from 1). */
  waitForHit(path: string, n?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startOrigin(): Promise<Origin> {
  const routes = new Map<string, OriginBehaviour>();
  const counts = new Map<string, number>();
  const waiters: { path: string; n: number; resolve: () => void }[] = [];
  const sockets = new Set<import('node:net').Socket>();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    for (const w of waiters.filter((x) => x.path === path && x.n <= n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    const b = routes.get(path);
    if (!b) return void res.writeHead(404).end('not found');
    if (b.kind === 'status')
      return void res.writeHead(b.status, { 'content-type': 'text/plain' }).end('origin failure');
    if (b.kind === 'redirect') return void res.writeHead(302, { location: b.location }).end();
    const body = readFileSync(b.path);
    const type = b.kind === 'file' ? (b.contentType ?? 'audio/mpeg') : 'audio/mpeg';
    res.writeHead(200, { 'content-type': type, 'content-length': String(body.length), 'accept-ranges': 'none' });
    if (req.method === 'HEAD') return void res.end();
    if (b.kind === 'file') return void res.end(body);
    if (b.kind === 'drop' && b.times !== undefined && req.method !== 'HEAD') {
      if (b.times <= 0) return void res.end(body);
      b.times -= 1;
    }
    if (b.kind === 'drop') {
      res.write(body.subarray(0, b.afterBytes), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    let pos = 0;
    const tick = () => {
      if (res.destroyed) return;
      const piece = body.subarray(pos, pos + b.chunk);
      pos += piece.length;
      if (pos >= body.length) return void res.end(piece);
      res.write(piece);
      setTimeout(tick, b.everyMs);
    };
    tick();
  };

  const server: Server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    port,
    set(path, behaviour) {
      routes.set(path, behaviour);
      return `${base}${path}`;
    },
    hits: (path) => counts.get(path) ?? 0,
    waitForHit(path, n = 1) {
      if ((counts.get(path) ?? 0) >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ path, n, resolve }));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
