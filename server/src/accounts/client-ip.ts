/**
 * The client's IP address, for throttling and logs (client-ip.test.ts).
 *
 * The socket address, unless the peer is a configured trusted proxy (`EARSHOT_TRUSTED_PROXIES`,
 * IPs and CIDRs, IPv4/IPv6). Then `CF-Connecting-IP` (set by Cloudflare, which overwrites any
 * client value) or else the right-most `X-Forwarded-For` hop that is not itself a trusted proxy —
 * everything left of it was written by the client and can be forged. `X-Real-IP` is never read.
 * IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is treated as the IPv4 address everywhere.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** `::ffff:1.2.3.4` → `1.2.3.4`; strips brackets, ports and zone ids; null when not an IP. */
export function normalizeIp(raw: string | undefined | null): string | null {
  if (!raw) return null;
  let s = raw.trim();
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end === -1) return null;
    s = s.slice(1, end);
  } else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(s)) {
    s = s.slice(0, s.lastIndexOf(':')); // IPv4 with a port
  }
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(s);
  if (mapped) s = mapped[1];
  const version = isIP(s);
  if (version === 0) return null;
  return version === 6 ? s.toLowerCase() : s;
}

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  /** @throws Error naming the entry when one is not an IP or CIDR. */
  constructor(entries: string[]) {
    let n = 0;
    for (const raw of entries) {
      const entry = raw.trim();
      if (!entry) continue;
      const slash = entry.indexOf('/');
      const ip = normalizeIp(slash === -1 ? entry : entry.slice(0, slash));
      if (!ip) throw new Error(`Trusted proxy "${entry}" is not an IP address or CIDR range.`);
      const type = isIP(ip) === 4 ? 'ipv4' : 'ipv6';
      if (slash === -1) {
        this.list.addAddress(ip, type);
      } else {
        const bits = Number(entry.slice(slash + 1));
        let prefix = bits;
        // A mapped-IPv4 CIDR (::ffff:10.0.0.0/104) covers the IPv4 range /(bits − 96).
        if (type === 'ipv4' && /^::ffff:/i.test(entry)) prefix = bits - 96;
        const max = type === 'ipv4' ? 32 : 128;
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
          throw new Error(`Trusted proxy "${entry}" has an invalid prefix length.`);
        }
        this.list.addSubnet(ip, prefix, type);
      }
      n += 1;
    }
    this.size = n;
  }

  has(ip: string | null): boolean {
    if (!ip || this.size === 0) return false;
    return this.list.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6');
  }
}

/** Resolves the client IP from the raw request headers and socket. */
export function clientIpFrom(
  peerAddress: string | undefined,
  headers: IncomingMessage['headers'],
  trusted: TrustedProxies,
): string {
  const peer = normalizeIp(peerAddress) ?? 'unknown';
  if (!trusted.has(peer)) return peer;

  const cf = headers['cf-connecting-ip'];
  const cfIp = normalizeIp(Array.isArray(cf) ? cf[0] : cf);
  if (cfIp) return cfIp;

  const xff = headers['x-forwarded-for'];
  const hops = (Array.isArray(xff) ? xff.join(',') : (xff ?? ''))
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeIp(hops[i]);
    if (!hop) break; // junk left by someone: the last good hop to its right is the answer
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}

export function createClientIpResolver(trustedProxies: string[]): (request: IncomingMessage) => string {
  const trusted = new TrustedProxies(trustedProxies);
  return (request) => clientIpFrom(request.socket.remoteAddress, request.headers, trusted);
}
