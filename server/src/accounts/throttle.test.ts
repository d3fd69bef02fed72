import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/harness.js';
import { form, ManualClock } from './testing.js';
import { AuthThrottle, FailureLimiter } from './throttle.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('FailureLimiter', () => {
  it('blocks after the limit within the window and frees up as failures age out', () => {
    const clock = new ManualClock();
    const limiter = new FailureLimiter({ limit: 3, windowMs: 60_000 }, clock);
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterMs('k')).toBe(0);
      limiter.fail('k');
      clock.advance(1000);
    }
    expect(limiter.retryAfterMs('k')).toBe(57_000);
    clock.advance(57_000);
    expect(limiter.retryAfterMs('k')).toBe(0);
  });

  it('keeps memory bounded under a flood of distinct keys', () => {
    const limiter = new FailureLimiter({ limit: 5, windowMs: 60_000 }, new ManualClock(), 100);
    for (let i = 0; i < 1000; i++) limiter.fail(`user${i}`);
    expect(limiter.size).toBeLessThanOrEqual(100);
  });

  it('a success resets the username but not the IP counter', () => {
    const throttle = new AuthThrottle(new ManualClock(), {
      perIp: { limit: 4, windowMs: 60_000 },
      perUsername: { limit: 2, windowMs: 60_000 },
    });
    throttle.recordFailure({ ip: '1.1.1.1', username: 'Alice' });
    throttle.recordFailure({ ip: '1.1.1.1', username: 'alice' });
    expect(() => throttle.assertAllowed({ ip: '2.2.2.2', username: 'ALICE' })).toThrow(/Too many/);
    throttle.recordSuccess({ ip: '1.1.1.1', username: 'alice' });
    expect(() => throttle.assertAllowed({ ip: '1.1.1.1', username: 'alice' })).not.toThrow();
    throttle.recordFailure({ ip: '1.1.1.1', username: 'bob' });
    throttle.recordFailure({ ip: '1.1.1.1', username: 'carol' });
    expect(() => throttle.assertAllowed({ ip: '1.1.1.1', username: 'dave' })).toThrow(/Too many/);
  });
});

describe('throttling failed sign-ins over HTTP', () => {
  const attempt = (
    url: '/auth/login' | '/auth/token',
    username: string,
    password: string,
    headers: Record<string, string> = {},
    remoteAddress = '203.0.113.10',
  ) =>
    url === '/auth/login'
      ? t!.app.inject({ method: 'POST', url, payload: { username, password }, headers, remoteAddress })
      : t!.app.inject({
          method: 'POST',
          url,
          ...form({ grant_type: 'password', username, password }),
          headers: { ...form({}).headers, ...headers },
          remoteAddress,
        });

  it('20 wrong passwords on one account → 429 with Retry-After; spoofed forwarding headers do not help', async () => {
    const clock = new ManualClock();
    t = await startTestServer({ clock });
    const alice = await t.createUser({ username: 'alice' });
    const codes: number[] = [];
    for (let i = 0; i < 20; i++) {
      // An untrusted peer rotating every forwarding header it can think of.
      const spoof = {
        'x-forwarded-for': `198.51.100.${i}`,
        'x-real-ip': `198.51.100.${i}`,
        'cf-connecting-ip': `192.0.2.${i}`,
      };
      codes.push((await attempt(i % 2 ? '/auth/token' : '/auth/login', 'alice', `wrong-${i}`, spoof)).statusCode);
    }
    expect(codes.slice(0, 10).every((c) => c === 401 || c === 400)).toBe(true);
    expect(codes.slice(10)).toEqual(Array(10).fill(429));
    const blocked = await attempt('/auth/login', 'alice', alice.password);
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.json().detail).toMatch(/Too many failed sign-in attempts/);
    // Even the right password from another address waits: the username itself is locked.
    expect((await attempt('/auth/login', 'alice', alice.password, {}, '192.0.2.77')).statusCode).toBe(429);
    clock.advance(Number(blocked.headers['retry-after']) * 1000);
    expect((await attempt('/auth/login', 'alice', alice.password)).statusCode).toBe(200);
  });

  it('per IP: spraying many usernames from one untrusted address is blocked after 20 failures', async () => {
    t = await startTestServer();
    await t.createUser({ username: 'alice' });
    for (let i = 0; i < 20; i++) {
      const res = await attempt('/auth/login', `victim${i}`, 'guess-guess', { 'x-forwarded-for': `10.9.9.${i}` });
      expect(res.statusCode).toBe(401);
    }
    expect(
      (await attempt('/auth/token', 'victim99', 'guess-guess', { 'cf-connecting-ip': '1.2.3.4' })).statusCode,
    ).toBe(429);
    // Another client is not affected.
    expect((await attempt('/auth/login', 'victim0', 'guess-guess', {}, '203.0.113.99')).statusCode).toBe(401);
  });

  it('behind a trusted proxy the forwarded client address is what gets throttled', async () => {
    t = await startTestServer({ env: { EARSHOT_TRUSTED_PROXIES: '127.0.0.1' } });
    for (let i = 0; i < 20; i++) {
      await attempt('/auth/login', `victim${i}`, 'guess-guess', { 'x-forwarded-for': '198.51.100.1' }, '127.0.0.1');
    }
    expect(
      (await attempt('/auth/login', 'x', 'guess-guess', { 'x-forwarded-for': '198.51.100.1' }, '127.0.0.1')).statusCode,
    ).toBe(429);
    // A different real client behind the same proxy still gets through.
    expect(
      (await attempt('/auth/login', 'x', 'guess-guess', { 'x-forwarded-for': '198.51.100.2' }, '127.0.0.1')).statusCode,
    ).toBe(401);
  });
});
