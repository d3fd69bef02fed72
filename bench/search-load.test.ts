/**
 * The benches' load generator (search-load.ts `requestsWith`): it reads answers into one reused
 * buffer and frames them by hand, so what it must get right is tested here against a raw TCP
 * server that answers as HTTP servers do — a head and a body in one write or in pieces, headers
 * in any case, keep-alive, errors. And the wrk cross-check (`wrkMix`), when wrk is installed.
 */
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { requestsWith, wrkMix, wrkPath } from './search-load.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw HTTP/1.1 server: `answer` writes the response to each request (path given) itself. */
async function rawServer(answer: (socket: Socket, path: string) => Promise<void> | void) {
  const seen: string[] = [];
  const server = createServer((socket) => {
    let pending = '';
    let chain = Promise.resolve();
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        const path = head.split(' ')[1];
        seen.push(path);
        chain = chain.then(() => answer(socket, path));
      }
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

const body = (path: string, size: number) => Buffer.from(`{"path":"${path}"}`.padEnd(size, ' '), 'latin1');
const head = (length: number, extra = '') =>
  `HTTP/1.1 200 OK\r\ncontent-type: application/json${extra}\r\ncontent-length: ${length}\r\n\r\n`;

describe('requestsWith (the benches’ clients)', () => {
  it('asks every path once and times every answer, with keep-alive, head and body in one write', async () => {
    const server = await rawServer((socket, path) => {
      const b = body(path, 15_000);
      socket.write(Buffer.concat([Buffer.from(head(b.length), 'latin1'), b]));
    });
    const paths = Array.from({ length: 200 }, (_, i) => `/q?i=${i}`);
    const latencies = await requestsWith({ url: server.url, clients: 4, paths });
    expect(latencies).toHaveLength(200);
    for (const ms of latencies) expect(ms).toBeGreaterThan(0);
    expect([...server.seen].sort()).toEqual([...paths].sort());
  });

  it('frames answers that arrive in pieces: a head split mid-line, a body in several writes, Content-Length in any case', async () => {
    const server = await rawServer(async (socket, path) => {
      const b = body(path, 40_000);
      const h = Buffer.from(head(b.length, '\r\nX-Padding: yes').replace('content-length', 'Content-Length'), 'latin1');
      socket.write(h.subarray(0, 20));
      await pause(5);
      socket.write(h.subarray(20));
      await pause(5);
      socket.write(b.subarray(0, 1000));
      await pause(5);
      socket.write(b.subarray(1000));
    });
    const paths = Array.from({ length: 12 }, (_, i) => `/piece?i=${i}`);
    const latencies = await requestsWith({ url: server.url, clients: 3, paths });
    expect(latencies).toHaveLength(12);
    // Each answer took three pauses of 5 ms: a latency stopped at the head or the first part is shorter.
    for (const ms of latencies) expect(ms).toBeGreaterThanOrEqual(14);
  });

  it('frames an empty body and a head that ends exactly where a read ends', async () => {
    const server = await rawServer(async (socket) => {
      socket.write(head(0));
      await pause(2);
    });
    const latencies = await requestsWith({ url: server.url, clients: 2, paths: ['/a', '/b', '/c'] });
    expect(latencies).toHaveLength(3);
  });

  it('fails the run on an answer other than 200, naming it', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n');
    });
    await expect(requestsWith({ url: server.url, clients: 1, paths: ['/x'] })).rejects.toThrow(/HTTP 503/);
  });

  it('fails the run on an answer without content-length (it could not be framed)', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n');
    });
    await expect(requestsWith({ url: server.url, clients: 1, paths: ['/x'] })).rejects.toThrow(/no content-length/);
  });

  it('fails the run when a 200 answer carries a failure mark (Subsonic answers errors with 200)', async () => {
    const server = await rawServer((socket, path) => {
      const b = Buffer.from(path.includes('bad') ? '{"status":"failed"}' : '{"status":"ok"}', 'latin1');
      socket.write(Buffer.concat([Buffer.from(head(b.length), 'latin1'), b]));
    });
    const marks = ['"status":"failed"'];
    await expect(
      requestsWith({ url: server.url, clients: 1, paths: ['/ok', '/ok2'], failedMarks: marks }),
    ).resolves.toHaveLength(2);
    await expect(
      requestsWith({ url: server.url, clients: 1, paths: ['/ok', '/bad'], failedMarks: marks }),
    ).rejects.toThrow(/status":"failed/);
  });
});

describe('wrkMix (the wrk cross-check)', () => {
  const wrk = wrkPath();
  it.skipIf(!wrk)('runs the paths through wrk and reads back its percentiles', async () => {
    const server = await rawServer((socket, path) => {
      const b = body(path, 2_000);
      socket.write(Buffer.concat([Buffer.from(head(b.length), 'latin1'), b]));
    });
    const paths = Array.from({ length: 50 }, (_, i) => `/w?i=${i}`);
    const f = await wrkMix({ url: server.url, clients: 2, paths, seconds: 1 });
    expect(f.requests).toBeGreaterThan(50);
    expect(f.errors).toBe(0);
    expect(f.p50).toBeGreaterThan(0);
    expect(f.p50).toBeLessThanOrEqual(f.p99);
    expect(f.p99).toBeLessThanOrEqual(f.max);
    // wrk asked the paths in order, from the first again: every one of them.
    expect(new Set(server.seen)).toEqual(new Set(paths));
  });
  if (!wrk) console.log('wrk is not installed (apt-get install wrk): the wrk cross-check test is skipped');
});
