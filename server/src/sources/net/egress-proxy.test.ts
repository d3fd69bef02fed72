/** The pinning egress proxy yt-dlp runs behind: per-run tokens, address checks on every hop, caps. */
import { createServer, request, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressProxy } from './egress-proxy.js';

let upstream: Server;
let upstreamPort: number;
const proxy = new EgressProxy(pino({ level: 'silent' }), async (host) => {
  if (host === 'rebind.example') return [{ address: '127.0.0.1', family: 4 }];
  throw Object.assign(new Error('no such host'), { code: 'ENOTFOUND' });
});

beforeAll(async () => {
  upstream = createServer((req, res) => {
    if (req.url === '/redirect') return void res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
    res.writeHead(200, { 'content-type': 'text/plain', 'x-host-seen': req.headers.host ?? '' });
    res.end(req.url === '/big' ? 'x'.repeat(100_000) : 'hello');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
});

afterAll(async () => {
  await proxy.close();
  await new Promise((r) => upstream.close(r));
});

function viaProxy(
  proxyUrl: string,
  target: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const p = new URL(proxyUrl);
  const auth = Buffer.from(`${decodeURIComponent(p.username)}:${decodeURIComponent(p.password)}`).toString('base64');
  return new Promise((resolve, reject) => {
    const req = request({
      host: p.hostname,
      port: p.port,
      path: target,
      headers: { 'proxy-authorization': `Basic ${auth}`, host: new URL(target).host },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function connectVia(proxyUrl: string, target: string, withAuth = true): Promise<string> {
  const p = new URL(proxyUrl);
  const auth = Buffer.from(`${decodeURIComponent(p.username)}:x`).toString('base64');
  return new Promise((resolve) => {
    const socket = connect(Number(p.port), p.hostname, () => {
      socket.write(
        `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${withAuth ? `Proxy-Authorization: Basic ${auth}\r\n` : ''}\r\n`,
      );
    });
    let data = '';
    socket.on('data', (c) => {
      data += c.toString('latin1');
      if (data.includes('\r\n\r\n')) {
        socket.destroy();
        resolve(data.split('\r\n')[0]);
      }
    });
  });
}

describe('EgressProxy', () => {
  it('proxies plain HTTP for a live session, keeping the Host header, passing redirects back', async () => {
    const session = await proxy.openSession({
      policy: { allowLoopback: new Set([upstreamPort]) },
      maxBytes: 1_000_000,
    });
    const ok = await viaProxy(session.proxyUrl, `http://127.0.0.1:${upstreamPort}/hello`);
    expect(ok).toMatchObject({ status: 200, body: 'hello' });
    expect(ok.headers['x-host-seen']).toBe(`127.0.0.1:${upstreamPort}`);
    const redirect = await viaProxy(session.proxyUrl, `http://127.0.0.1:${upstreamPort}/redirect`);
    expect(redirect.status).toBe(302); // yt-dlp follows it through the proxy, where it is checked again
    // …and that next hop is refused:
    const meta = await viaProxy(session.proxyUrl, 'http://169.254.169.254/');
    expect(meta.status).toBe(403);
    expect(session.refusal).toMatch(/link-local/);
    session.close();
  });

  it('refuses requests without a live session token', async () => {
    const session = await proxy.openSession({ policy: { allowLoopback: true }, maxBytes: 1000 });
    const url = new URL(session.proxyUrl);
    session.close();
    const res = await viaProxy(session.proxyUrl, `http://127.0.0.1:${upstreamPort}/hello`);
    expect(res.status).toBe(407);
    expect(await connectVia(`http://nobody:x@${url.host}`, `127.0.0.1:${upstreamPort}`, false)).toMatch(/407/);
  });

  it('refuses loopback and names that resolve to it (DNS rebinding), for HTTP and CONNECT', async () => {
    const session = await proxy.openSession({ policy: { allowLoopback: false }, maxBytes: 1000 });
    expect((await viaProxy(session.proxyUrl, `http://127.0.0.1:${upstreamPort}/hello`)).status).toBe(403);
    expect((await viaProxy(session.proxyUrl, `http://rebind.example:${upstreamPort}/hello`)).status).toBe(403);
    expect(await connectVia(session.proxyUrl, `127.0.0.1:${upstreamPort}`)).toMatch(/403/);
    expect(await connectVia(session.proxyUrl, `[::ffff:127.0.0.1]:${upstreamPort}`)).toMatch(/403/);
    expect(await connectVia(session.proxyUrl, '169.254.169.254:443')).toMatch(/403/);
    session.close();
  });

  it('tunnels CONNECT to an allowed address', async () => {
    const echo = createTcpServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const port = (echo.address() as AddressInfo).port;
    const session = await proxy.openSession({ policy: { allowLoopback: new Set([port]) }, maxBytes: 1000 });
    expect(await connectVia(session.proxyUrl, `127.0.0.1:${port}`)).toBe('HTTP/1.1 200 Connection Established');
    session.close();
    echo.close();
  });

  it('cuts a session that exceeds its byte cap', async () => {
    const session = await proxy.openSession({ policy: { allowLoopback: true }, maxBytes: 10_000 });
    const res = await viaProxy(session.proxyUrl, `http://127.0.0.1:${upstreamPort}/big`).catch((e: Error) => ({
      status: -1,
      body: e.message,
    }));
    expect(res.body.length).toBeLessThan(100_000);
    expect(session.refusal).toMatch(/limit/);
    session.close();
  });
});
