/**
 * Host allow-list: DNS rebinding cannot reach a route, even with a matching Origin.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/harness.js';
import { createHostCheck, hostName } from './host-check.js';

describe('Host allow-list', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      env: { EARSHOT_PUBLIC_URL: 'https://music.example.org', EARSHOT_ALLOWED_HOSTS: 'nas.lan,.tail1234.ts.net' },
    });
    await t.createUser({ username: 'alice', password: 'correct horse battery' });
  });
  afterAll(() => t.close());

  const login = (host: string) =>
    t.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { host, origin: `http://${host}`, 'content-type': 'application/json' },
      payload: { username: 'alice', password: 'correct horse battery' },
    });

  it('a login sent to a rebound name with a matching Origin gets 421 and no cookie', async () => {
    const res = await login('evil.example');
    expect(res.statusCode).toBe(421);
    expect(res.json()).toMatchObject({ status: 421, code: 'unknown_host' });
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('421 comes before any route, public or not, and before 404', async () => {
    for (const url of ['/healthz', '/api/v1/tracks', '/no/such/route', '/']) {
      const res = await t.app.inject({ url, headers: { host: 'attacker.test:8080' } });
      expect(res.statusCode, url).toBe(421);
    }
  });

  it.each([
    '127.0.0.1:4533',
    '192.168.1.20',
    '[::1]:4533',
    '[fe80::1]',
    'localhost:4533',
    'LOCALHOST',
    'music.example.org',
    'music.example.org.:443',
    'nas.lan:4533',
    'pixel.tail1234.ts.net',
  ])('Host %s is answered', async (host) => {
    expect((await t.app.inject({ url: '/healthz', headers: { host } })).statusCode).toBe(200);
  });

  it.each([
    'tail1234.ts.net.evil.example',
    'music.example.org.evil.example',
    'xnas.lan',
    'localhost.evil.example',
    '127.0.0.1.nip.io',
    'evil.example@127.0.0.1',
    '[::1',
    '[::1]x',
  ])('Host %j is refused', async (host) => {
    expect((await t.app.inject({ url: '/healthz', headers: { host } })).statusCode).toBe(421);
  });

  it('never throws and accepts only names it knows, for any header value', () => {
    const allowed = createHostCheck({ publicUrl: 'https://music.example.org', allowedHosts: ['nas.lan'] });
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (header) => {
        const ok = allowed(header);
        if (ok) {
          const name = hostName(header);
          expect(name).not.toBeNull();
          expect(
            ['localhost', 'music.example.org', 'nas.lan'].includes(name as string) || /^[\d.]+$|:/.test(name as string),
          ).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
