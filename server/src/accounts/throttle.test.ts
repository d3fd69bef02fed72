import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/harness.js';
import { form, ManualClock } from '../test/accounts.js';
import { AuthThrottle, FailureLimiter, ProgressiveLimiter } from './throttle.js';
import { forEachServerEngine } from '../test/engines.js';

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

  it('a success resets the pair and the username but not the client counter', () => {
    const throttle = new AuthThrottle(new ManualClock(), {
      perPair: { limit: 2, windowMs: 60_000 },
      perIp: { limit: 4, windowMs: 60_000 },
      perUsername: { free: 10, windowMs: 60_000, baseDelayMs: 1000, maxDelayMs: 60_000 },
    });
    throttle.recordFailure({ ip: '1.1.1.1', username: 'Alice' });
    throttle.recordFailure({ ip: '1.1.1.1', username: 'alice' });
    expect(() => throttle.assertAllowed({ ip: '1.1.1.1', username: 'ALICE' })).toThrow(/Too many/);
    // The pair is blocked, not the account: another client signs in as alice.
    expect(() => throttle.assertAllowed({ ip: '2.2.2.2', username: 'alice' })).not.toThrow();
    throttle.recordSuccess({ ip: '1.1.1.1', username: 'alice' });
    expect(() => throttle.assertAllowed({ ip: '1.1.1.1', username: 'alice' })).not.toThrow();
    throttle.recordFailure({ ip: '1.1.1.1', username: 'bob' });
    throttle.recordFailure({ ip: '1.1.1.1', username: 'carol' });
    expect(() => throttle.assertAllowed({ ip: '1.1.1.1', username: 'dave' })).toThrow(/Too many/);
  });

  it('per username: free up to the budget, then a doubling wait capped at the maximum', () => {
    const clock = new ManualClock();
    const limiter = new ProgressiveLimiter(
      { free: 50, windowMs: 86_400_000, baseDelayMs: 1000, maxDelayMs: 900_000 },
      clock,
    );
    for (let i = 0; i < 50; i++) {
      expect(limiter.retryAfterMs('alice')).toBe(0);
      limiter.fail('alice');
    }
    expect(limiter.retryAfterMs('alice')).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 14; i++) {
      limiter.fail('alice');
      waits.push(limiter.retryAfterMs('alice'));
      clock.advance(waits[i]);
      expect(limiter.retryAfterMs('alice')).toBe(0);
    }
    expect(waits.slice(0, 5)).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(Math.max(...waits)).toBe(900_000);
    expect(waits.at(-1)).toBe(900_000);
    // A day later everything has aged out.
    clock.advance(86_400_000);
    limiter.fail('alice');
    expect(limiter.retryAfterMs('alice')).toBe(0);
  });

  it('a client already signed in as the account is never blocked for it', () => {
    const throttle = new AuthThrottle(new ManualClock());
    for (let i = 0; i < 200; i++) throttle.recordFailure({ ip: '9.9.9.9', username: 'alice' });
    expect(() => throttle.assertAllowed({ ip: '9.9.9.9', username: 'alice' })).toThrow(/Too many/);
    expect(() => throttle.assertAllowed({ ip: '9.9.9.9', username: 'alice', signedInAs: 'bob' })).toThrow(/Too many/);
    expect(() => throttle.assertAllowed({ ip: '9.9.9.9', username: 'alice', signedInAs: 'ALICE' })).not.toThrow();
  });
});

forEachServerEngine(() => {
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

    it('SECURITY 6: 20 wrong passwords from one client → 429 with Retry-After; spoofed forwarding headers do not help; the owner is not locked out', async () => {
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
      expect(codes.slice(0, 5).every((c) => c === 401 || c === 400)).toBe(true);
      expect(codes.slice(5)).toEqual(Array(15).fill(429));
      const blocked = await attempt('/auth/login', 'alice', alice.password);
      expect(blocked.statusCode).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      expect(blocked.json().detail).toMatch(/Too many failed sign-in attempts/);
      // The guesser is blocked, not the account: alice signs in from her own device.
      expect((await attempt('/auth/login', 'alice', alice.password, {}, '192.0.2.77')).statusCode).toBe(200);
      clock.advance(Number(blocked.headers['retry-after']) * 1000);
      expect((await attempt('/auth/login', 'alice', alice.password)).statusCode).toBe(200);
    });

    it('a distributed guesser pays a growing wait per username, but a signed-in client is never blocked', async () => {
      const clock = new ManualClock();
      t = await startTestServer({ clock });
      const alice = await t.createUser({ username: 'alice' });
      const session = await t.authHeaders(alice);
      // 51 wrong passwords from 51 addresses: the first 50 are free, then each guess costs time.
      for (let i = 0; i < 51; i++) {
        expect((await attempt('/auth/login', 'alice', 'wrong-guess', {}, `198.51.100.${i}`)).statusCode).toBe(401);
      }
      const waiting = await attempt('/auth/login', 'alice', 'wrong-guess', {}, '203.0.113.200');
      expect(waiting.statusCode).toBe(429);
      expect(Number(waiting.headers['retry-after'])).toBe(1);
      // Alice's own browser, with its valid session cookie, signs in again at once.
      expect((await attempt('/auth/login', 'alice', alice.password, session, '203.0.113.201')).statusCode).toBe(200);
      // Ten wrong passwords no longer lock anyone out for 15 minutes: after the short wait she is in.
      clock.advance(1_000);
      expect((await attempt('/auth/login', 'alice', alice.password, {}, '203.0.113.202')).statusCode).toBe(200);
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
        (await attempt('/auth/login', 'x', 'guess-guess', { 'x-forwarded-for': '198.51.100.1' }, '127.0.0.1'))
          .statusCode,
      ).toBe(429);
      // A different real client behind the same proxy still gets through.
      expect(
        (await attempt('/auth/login', 'x', 'guess-guess', { 'x-forwarded-for': '198.51.100.2' }, '127.0.0.1'))
          .statusCode,
      ).toBe(401);
    });
  });
});
