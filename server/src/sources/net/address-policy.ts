/**
 * Which network addresses a remote source may reach (address-policy.test.ts, ssrf.test.ts). A user-supplied URL could
 * otherwise make the server fetch its own admin port, the LAN, or a cloud metadata service.
 *
 * Everything that is not globally routable unicast is refused: loopback, private (RFC 1918),
 * link-local (incl. 169.254.169.254), CGNAT (100.64/10), multicast, unspecified, benchmarking,
 * documentation and reserved ranges, IPv6 ULA/link-local/site-local, and every IPv6 form that embeds
 * an IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64, 6to4, Teredo) — those are
 * refused outright rather than unwrapped, because how a stack routes them varies.
 *
 * Decimal/octal/hex host spellings (`http://2130706433/`, `http://0x7f.1/`, `http://0177.0.0.1/`)
 * are normalised to dotted quads by the WHATWG URL parser before any check, so they cannot sneak past.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Forbidden, Invalid } from '../../shared/errors.js';

export interface AddressPolicy {
  /**
   * Test-only escape hatch: loopback addresses are allowed (all ports when `true`, else only the
   * listed ports). Never set in production (see sources/README.md).
   */
  allowLoopback: boolean | ReadonlySet<number>;
}

export const STRICT_POLICY: AddressPolicy = { allowLoopback: false };

export type LookupFn = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemLookup: LookupFn = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

const MAX_URL_LENGTH = 2048;

/** Parses a user-supplied source URL: http(s) only, no credentials, bounded length. */
export function parseSourceUrl(input: unknown): URL {
  if (typeof input !== 'string') throw new Invalid('url must be a string', { field: 'url' });
  const text = input.trim();
  if (text.length === 0 || text.length > MAX_URL_LENGTH) {
    throw new Invalid(`url must be 1–${MAX_URL_LENGTH} characters`, { field: 'url' });
  }
  // A value such as `--exec=touch pwned` or `-o x` is not a URL: it never reaches yt-dlp at all.
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Invalid('url is not a valid absolute http(s) URL', { field: 'url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Invalid(`Only http and https URLs can be played (got ${url.protocol.replace(/:$/, '')}).`, {
      field: 'url',
    });
  }
  if (url.username || url.password) throw new Invalid('URLs with credentials are not accepted.', { field: 'url' });
  if (!url.hostname) throw new Invalid('url has no host', { field: 'url' });
  return url;
}

/** The port a URL connects to. */
export function urlPort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** Host without IPv6 brackets. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

const V4_BLOCKED: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified/"this network"'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved/broadcast'],
];

function v4Blocked(ip: string): string | null {
  const n = ipv4ToInt(ip);
  for (const [base, bits, reason] of V4_BLOCKED) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((n & mask) >>> 0 === (ipv4ToInt(base) & mask) >>> 0) return reason;
  }
  return null;
}

/** Expands an IPv6 address (incl. `::` and a trailing dotted quad) into 8 hextets. */
export function expandIpv6(ip: string): number[] {
  let text = ip.toLowerCase().split('%')[0];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToInt(v4[1]);
    text = `${text.slice(0, -v4[1].length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headParts = head ? head.split(':').filter((p) => p !== '') : [];
  const tailParts = tail ? tail.split(':').filter((p) => p !== '') : [];
  const missing = 8 - headParts.length - tailParts.length;
  const parts = [...headParts, ...Array(tail === undefined ? 0 : missing).fill('0'), ...tailParts];
  return parts.map((p) => Number.parseInt(p, 16));
}

function v6Blocked(ip: string): string | null {
  const h = expandIpv6(ip);
  const allZeroUntil = (n: number) => h.slice(0, n).every((x) => x === 0);
  if (allZeroUntil(8)) return 'unspecified';
  if (allZeroUntil(7) && h[7] === 1) return 'loopback';
  if (allZeroUntil(5) && h[5] === 0xffff) return 'IPv4-mapped IPv6';
  if (allZeroUntil(6)) return 'IPv4-compatible IPv6';
  if (allZeroUntil(4) && h[4] === 0xffff && h[5] === 0) return 'IPv4-translated IPv6';
  if (h[0] === 0x64 && h[1] === 0xff9b) return 'NAT64 (embeds IPv4)';
  if (h[0] === 0x2002) return '6to4 (embeds IPv4)';
  if (h[0] === 0x2001 && h[1] === 0) return 'Teredo (embeds IPv4)';
  if (h[0] === 0x2001 && h[1] === 0xdb8) return 'documentation';
  if ((h[0] & 0xfe00) === 0xfc00) return 'unique-local (private)';
  if ((h[0] & 0xffc0) === 0xfe80) return 'link-local';
  if ((h[0] & 0xffc0) === 0xfec0) return 'site-local';
  if ((h[0] & 0xff00) === 0xff00) return 'multicast';
  if (h[0] === 0x100 && h[1] === 0 && h[2] === 0 && h[3] === 0) return 'discard-only';
  return null;
}

function isLoopback(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return ip.startsWith('127.');
  if (family === 6) {
    const h = expandIpv6(ip);
    return h.slice(0, 7).every((x) => x === 0) && h[7] === 1;
  }
  return false;
}

/** Why this literal address is not reachable for remote sources, or null when it is a public address. */
export function blockedReason(ip: string, port: number, policy: AddressPolicy): string | null {
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  if (isLoopback(ip) && policy.allowLoopback !== false) {
    if (policy.allowLoopback === true || policy.allowLoopback.has(port)) return null;
  }
  return family === 4 ? v4Blocked(ip) : v6Blocked(ip);
}

export interface CheckedAddress {
  hostname: string;
  /** The address every connection for this host is pinned to. */
  address: string;
  family: number;
  port: number;
}

/**
 * Resolves `hostname` and checks every address it resolves to (a host with one private address
 * among public ones is refused: the resolver could hand out either). Returns the first address,
 * which the caller pins the connection to.
 */
export async function resolveChecked(
  hostname: string,
  port: number,
  policy: AddressPolicy,
  lookup: LookupFn = systemLookup,
): Promise<CheckedAddress> {
  const host = bareHost(hostname);
  let addresses: { address: string; family: number }[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    if (host.length > 253 || !/^[a-z0-9.-]+$/i.test(host))
      throw new Forbidden(`The host "${host.slice(0, 80)}" is not allowed.`);
    try {
      addresses = await lookup(host);
    } catch (err) {
      throw new Invalid(`The host "${host}" could not be resolved.`, {
        field: 'url',
        reason: (err as NodeJS.ErrnoException).code,
      });
    }
    if (addresses.length === 0) throw new Invalid(`The host "${host}" could not be resolved.`, { field: 'url' });
  }
  for (const a of addresses) {
    const reason = blockedReason(a.address, port, policy);
    if (reason) throw new Forbidden(`Refusing to fetch from ${host}: it resolves to a ${reason} address.`);
  }
  return { hostname: host, address: addresses[0].address, family: addresses[0].family, port };
}

/** Full check of a user-supplied URL before anything runs: scheme, shape, and every resolved address. */
export async function checkSourceUrl(
  input: unknown,
  policy: AddressPolicy,
  lookup?: LookupFn,
): Promise<{ url: URL; pinned: CheckedAddress }> {
  const url = parseSourceUrl(input);
  const pinned = await resolveChecked(url.hostname, urlPort(url), policy, lookup);
  return { url, pinned };
}

/** Reads the test-only loopback allowance: unset/"0" → none, "1" → any port, "8501,8502" → those ports. */
export function loopbackAllowanceFromEnv(value: string | undefined): AddressPolicy['allowLoopback'] {
  if (!value || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  const ports = value
    .split(',')
    .map((p) => Number(p.trim()))
    .filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
  return ports.length ? new Set(ports) : false;
}
