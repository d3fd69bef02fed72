import { describe, expect, it } from 'vitest';
import { Forbidden, Invalid } from '../../shared/errors.js';
import {
  blockedReason,
  checkSourceUrl,
  expandIpv6,
  loopbackAllowanceFromEnv,
  parseSourceUrl,
  STRICT_POLICY,
} from './address-policy.js';

const publicLookup = async () => [{ address: '93.184.216.34', family: 4 }];

describe('address policy (SECURITY.md 16)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['100.100.100.100', 'carrier-grade NAT'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified/"this network"'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved/broadcast'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'IPv4-mapped IPv6'],
    ['::ffff:7f00:1', 'IPv4-mapped IPv6'],
    ['::ffff:8.8.8.8', 'IPv4-mapped IPv6'],
    ['::127.0.0.1', 'IPv4-compatible IPv6'],
    ['64:ff9b::a00:1', 'NAT64 (embeds IPv4)'],
    ['2002:7f00:1::', '6to4 (embeds IPv4)'],
    ['fd00::1', 'unique-local (private)'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
  ])('refuses %s (%s)', (ip, reason) => {
    expect(blockedReason(ip, 80, STRICT_POLICY)).toBe(reason);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '172.32.0.1', '100.128.0.1'])('allows public %s', (ip) => {
    expect(blockedReason(ip, 443, STRICT_POLICY)).toBeNull();
  });

  it('expands IPv6 forms', () => {
    expect(expandIpv6('::ffff:127.0.0.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(expandIpv6('2001:db8::1')).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
  });

  it.each([
    'file:///etc/passwd',
    'gopher://example.com/',
    'ftp://example.com/x.mp3',
    'javascript:alert(1)',
    '--exec=touch pwned',
    '-o x',
    '--config-location=x',
    'example.com/song.mp3',
    'http://user:pw@example.com/',
    '',
  ])('parseSourceUrl refuses %j before anything runs', (input) => {
    expect(() => parseSourceUrl(input)).toThrow(Invalid);
  });

  it.each([
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'IPv4-mapped'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://100.100.100.100/', 'carrier-grade NAT'],
    ['http://10.0.0.1/', 'private'],
    ['http://[::1]:8000/', 'loopback'],
  ])('checkSourceUrl refuses %s (numeric host spellings are normalised first)', async (url, reason) => {
    const err = await checkSourceUrl(url, STRICT_POLICY, publicLookup).catch((e) => e);
    expect(err).toBeInstanceOf(Forbidden);
    expect((err as Error).message).toContain(reason);
  });

  it('refuses a host when any of its addresses is private (the resolver could hand out either)', async () => {
    const mixed = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.1.2.3', family: 4 },
    ];
    await expect(checkSourceUrl('https://mixed.example/', STRICT_POLICY, mixed)).rejects.toThrow(/private/);
  });

  it('refuses `localhost` through real name resolution', async () => {
    await expect(checkSourceUrl('http://localhost:8000/', STRICT_POLICY)).rejects.toThrow(Forbidden);
  });

  it('pins the checked address of a public host', async () => {
    const { pinned } = await checkSourceUrl('https://music.example/track.mp3', STRICT_POLICY, publicLookup);
    expect(pinned).toEqual({ hostname: 'music.example', address: '93.184.216.34', family: 4, port: 443 });
  });

  it('the loopback test switch is off unless explicitly set, and can be limited to ports', () => {
    expect(loopbackAllowanceFromEnv(undefined)).toBe(false);
    expect(loopbackAllowanceFromEnv('0')).toBe(false);
    expect(loopbackAllowanceFromEnv('1')).toBe(true);
    const ports = loopbackAllowanceFromEnv('8501, 8502');
    expect(blockedReason('127.0.0.1', 8501, { allowLoopback: ports })).toBeNull();
    expect(blockedReason('127.0.0.1', 8000, { allowLoopback: ports })).toBe('loopback');
    // The switch covers loopback only, never the LAN or metadata addresses.
    expect(blockedReason('169.254.169.254', 80, { allowLoopback: true })).not.toBeNull();
  });
});
