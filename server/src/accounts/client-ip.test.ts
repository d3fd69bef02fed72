import { describe, expect, it } from 'vitest';
import { clientIpFrom, createClientIpResolver, normalizeIp, TrustedProxies } from './client-ip.js';

describe('normalizeIp', () => {
  it('unmaps IPv4-mapped IPv6, strips ports/brackets/zones and rejects junk', () => {
    expect(normalizeIp('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeIp('::FFFF:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeIp('10.1.2.3:5555')).toBe('10.1.2.3');
    expect(normalizeIp('[2001:DB8::1]:443')).toBe('2001:db8::1');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
    for (const junk of ['', 'unknown', 'evil.com', '1.2.3', '999.1.1.1', '<script>'])
      expect(normalizeIp(junk)).toBeNull();
  });
});

describe('TrustedProxies', () => {
  it('matches IPs and CIDRs of both families, mapped or not', () => {
    const list = new TrustedProxies(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', '::ffff:192.168.0.0/112']);
    expect(list.has('127.0.0.1')).toBe(true);
    expect(list.has('10.200.3.4')).toBe(true);
    expect(list.has('11.0.0.1')).toBe(false);
    expect(list.has('::1')).toBe(true);
    expect(list.has('fd12::5')).toBe(true);
    expect(list.has('fe80::1')).toBe(false);
    expect(list.has('192.168.4.4')).toBe(true);
    expect(list.has('192.169.0.1')).toBe(false);
  });

  it('rejects malformed entries with a message naming them', () => {
    expect(() => new TrustedProxies(['10.0.0.0/33'])).toThrow(/10\.0\.0\.0\/33/);
    expect(() => new TrustedProxies(['proxy.local'])).toThrow(/proxy\.local/);
  });
});

describe('clientIpFrom', () => {
  const trusted = new TrustedProxies(['127.0.0.1', '10.0.0.0/8']);
  const none = new TrustedProxies([]);

  it('uses the socket address when the peer is not trusted, whatever the headers say', () => {
    const headers = { 'x-forwarded-for': '1.1.1.1', 'cf-connecting-ip': '2.2.2.2', 'x-real-ip': '3.3.3.3' };
    expect(clientIpFrom('203.0.113.9', headers, trusted)).toBe('203.0.113.9');
    expect(clientIpFrom('127.0.0.1', headers, none)).toBe('127.0.0.1');
    expect(clientIpFrom('::ffff:203.0.113.9', {}, trusted)).toBe('203.0.113.9');
  });

  it('behind a trusted proxy: CF-Connecting-IP first, else the right-most untrusted X-Forwarded-For hop', () => {
    expect(
      clientIpFrom('127.0.0.1', { 'cf-connecting-ip': '198.51.100.7', 'x-forwarded-for': '6.6.6.6' }, trusted),
    ).toBe('198.51.100.7');
    // The client forged "6.6.6.6"; the proxy chain appended the real address and an inner proxy.
    expect(clientIpFrom('127.0.0.1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.0.0.5' }, trusted)).toBe(
      '198.51.100.7',
    );
    expect(clientIpFrom('::ffff:127.0.0.1', { 'x-forwarded-for': '2001:db8::7' }, trusted)).toBe('2001:db8::7');
    // Only trusted hops: the left-most one is the best we know.
    expect(clientIpFrom('127.0.0.1', { 'x-forwarded-for': '10.0.0.9, 10.0.0.5' }, trusted)).toBe('10.0.0.9');
    // Junk in the chain stops the walk at the last good hop.
    expect(clientIpFrom('127.0.0.1', { 'x-forwarded-for': 'evil, 10.0.0.5' }, trusted)).toBe('10.0.0.5');
    expect(clientIpFrom('127.0.0.1', {}, trusted)).toBe('127.0.0.1');
  });

  it('works as the HTTP app resolver', () => {
    const resolve = createClientIpResolver(['127.0.0.1']);
    const req = { socket: { remoteAddress: '127.0.0.1' }, headers: { 'x-forwarded-for': '203.0.113.1' } };
    expect(resolve(req as never)).toBe('203.0.113.1');
  });
});
