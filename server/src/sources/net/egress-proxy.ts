/**
 * The egress proxy every yt-dlp run goes through (`--proxy http://<token>@127.0.0.1:<port>`).
 *
 * Why: checking a URL before starting yt-dlp is not enough — yt-dlp resolves the host again
 * (DNS rebinding), follows redirects (`302 → http://127.0.0.1:8000/admin`) and fetches further
 * hosts named by the page (CDNs, manifests). yt-dlp 2023.03 has no hook to veto an address, but it
 * sends *every* request through an HTTP proxy when given one: plain http as absolute-form requests,
 * https as `CONNECT host:port`. This proxy resolves each host itself, refuses the request when any
 * address is not public (address-policy.ts), and connects to exactly the address it checked — the
 * connection is pinned, so there is no window between check and connect. Redirect targets arrive
 * as new proxy requests and get the same check.
 *
 * Each yt-dlp run gets its own session (a random token sent as proxy credentials) with a byte cap;
 * requests without a live token are refused, so other local programs cannot use the proxy.
 */
import { randomBytes } from 'node:crypto';
import {
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer,
  request as httpRequest,
} from 'node:http';
import { type Socket, connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../shared/logger.js';
import {
  type AddressPolicy,
  type CheckedAddress,
  type LookupFn,
  resolveChecked,
  systemLookup,
} from './address-policy.js';

export interface EgressSession {
  /** Value for yt-dlp's `--proxy`. */
  readonly proxyUrl: string;
  /** Bytes received from origins in this session. */
  readonly bytes: number;
  /** The first refusal (e.g. "redirect to a loopback address"), for a clear error message. */
  readonly refusal: string | null;
  close(): void;
}

interface SessionState {
  token: string;
  policy: AddressPolicy;
  maxBytes: number;
  bytes: number;
  refusal: string | null;
  /** host:port → address checked earlier (pre-flight check), reused so one run sees one address. */
  pins: Map<string, CheckedAddress>;
  sockets: Set<Socket | Duplex>;
  closed: boolean;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export class EgressProxy {
  private server: Server | null = null;
  private port = 0;
  private starting: Promise<void> | null = null;
  private readonly sessions = new Map<string, SessionState>();
  /** Requests refused by policy since start (metrics/tests). */
  refusedCount = 0;

  constructor(
    private readonly logger: Logger,
    private readonly lookup: LookupFn = systemLookup,
  ) {}

  /** Starts lazily on first use: a server with remote sources disabled never opens the port. */
  private ensureStarted(): Promise<void> {
    this.starting ??= new Promise<void>((resolve, reject) => {
      const server = createServer((req, res) => void this.onRequest(req, res));
      server.on('connect', (req, socket, head) => void this.onConnect(req, socket, head));
      server.on('clientError', (_err, socket) => socket.destroy());
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        this.port = typeof address === 'object' && address ? address.port : 0;
        this.server = server;
        resolve();
      });
    });
    return this.starting;
  }

  async openSession(options: {
    policy: AddressPolicy;
    maxBytes: number;
    pinned?: CheckedAddress[];
  }): Promise<EgressSession> {
    await this.ensureStarted();
    const token = randomBytes(18).toString('hex');
    const state: SessionState = {
      token,
      policy: options.policy,
      maxBytes: options.maxBytes,
      bytes: 0,
      refusal: null,
      pins: new Map((options.pinned ?? []).map((p) => [`${p.hostname}:${p.port}`, p])),
      sockets: new Set(),
      closed: false,
    };
    this.sessions.set(token, state);
    const proxyUrl = `http://${token}:x@127.0.0.1:${this.port}`;
    return {
      proxyUrl,
      get bytes() {
        return state.bytes;
      },
      get refusal() {
        return state.refusal;
      },
      close: () => {
        state.closed = true;
        this.sessions.delete(token);
        for (const s of state.sockets) s.destroy();
      },
    };
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) {
      s.closed = true;
      for (const sock of s.sockets) sock.destroy();
    }
    this.sessions.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private sessionFor(req: IncomingMessage): SessionState | null {
    const header = req.headers['proxy-authorization'];
    if (typeof header !== 'string' || !header.toLowerCase().startsWith('basic ')) return null;
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const token = decoded.split(':')[0];
    const state = this.sessions.get(token);
    return state && !state.closed ? state : null;
  }

  private async check(state: SessionState, host: string, port: number): Promise<CheckedAddress> {
    const pinned = state.pins.get(`${host}:${port}`);
    if (pinned) return pinned;
    const checked = await resolveChecked(host, port, state.policy, this.lookup);
    state.pins.set(`${host}:${port}`, checked);
    return checked;
  }

  private refuse(state: SessionState | null, reason: string): void {
    this.refusedCount += 1;
    if (state && !state.refusal) state.refusal = reason;
    this.logger.warn({ area: 'sources', reason }, 'egress proxy refused a request');
  }

  private count(state: SessionState, n: number, abort: () => void): void {
    state.bytes += n;
    if (state.bytes > state.maxBytes) {
      this.refuse(state, `download exceeds the ${Math.round(state.maxBytes / 1048576)} MB limit`);
      abort();
    }
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const state = this.sessionFor(req);
    if (!state) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="earshot"', connection: 'close' }).end();
      return;
    }
    let target: URL;
    try {
      target = new URL(req.url ?? '');
      if (target.protocol !== 'http:') throw new Error('scheme');
    } catch {
      this.refuse(state, 'malformed proxy request');
      res.writeHead(400, { connection: 'close' }).end();
      return;
    }
    const port = target.port ? Number(target.port) : 80;
    let pinned: CheckedAddress;
    try {
      pinned = await this.check(state, target.hostname, port);
    } catch (err) {
      this.refuse(state, (err as Error).message);
      res.writeHead(403, { 'content-type': 'text/plain', connection: 'close' }).end((err as Error).message);
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined && !HOP_BY_HOP.has(k.toLowerCase())) headers[k] = v;
    }
    headers.host = target.host;
    const upstream = httpRequest({
      host: pinned.address,
      family: pinned.family,
      port,
      method: req.method,
      path: `${target.pathname}${target.search}`,
      headers,
      setHost: false,
    });
    upstream.on('socket', (s) => state.sockets.add(s));
    upstream.on('response', (up) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(up.statusCode ?? 502, out);
      up.on('data', (chunk: Buffer) => this.count(state, chunk.length, () => upstream.destroy()));
      up.pipe(res);
      up.on('error', () => res.destroy());
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { connection: 'close' }).end(err.message);
      else res.destroy();
    });
    req.pipe(upstream);
  }

  private async onConnect(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    client.on('error', () => client.destroy());
    const state = this.sessionFor(req);
    if (!state) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="earshot"\r\n\r\n');
      return;
    }
    const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(req.url ?? '');
    if (!m) {
      this.refuse(state, 'malformed CONNECT target');
      client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const port = Number(m[2]);
    let pinned: CheckedAddress;
    try {
      pinned = await this.check(state, m[1], port);
    } catch (err) {
      this.refuse(state, (err as Error).message);
      client.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    const upstream = netConnect({ host: pinned.address, port, family: pinned.family });
    state.sockets.add(upstream);
    state.sockets.add(client);
    upstream.on('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.on('data', (chunk: Buffer) => this.count(state, chunk.length, () => upstream.destroy()));
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => {
      client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    });
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  }
}
