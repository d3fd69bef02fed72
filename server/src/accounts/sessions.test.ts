/** Session lifetime (EARSHOT_SESSION_DAYS), idle timeout, "sign out everywhere" and readable device names. */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/harness.js';
import { cookieHeader, ManualClock, sessionSetCookie } from '../test/accounts.js';
import { describeDevice, describeUserAgent } from './user-agent.js';
import { forEachServerEngine } from '../test/engines.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const UA = {
  firefoxAndroid: 'Mozilla/5.0 (Android 14; Mobile; rv:132.0) Gecko/132.0 Firefox/132.0',
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  edgeMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  samsung:
    'Mozilla/5.0 (Linux; Android 13; SM-S901B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  chromeIpad:
    'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1',
  dsub: 'DSub/5.5.3 (Android)',
  curl: 'curl/8.5.0',
};

describe('browser and OS names', () => {
  it('names common browsers and systems, and apps by their product token', () => {
    expect(describeDevice(UA.firefoxAndroid)).toBe('Firefox on Android');
    expect(describeDevice(UA.chromeWindows)).toBe('Chrome on Windows');
    expect(describeDevice(UA.safariIphone)).toBe('Safari on iOS');
    expect(describeDevice(UA.edgeMac)).toBe('Edge on macOS');
    expect(describeDevice(UA.samsung)).toBe('Samsung Internet on Android');
    expect(describeDevice(UA.firefoxLinux)).toBe('Firefox on Linux');
    expect(describeDevice(UA.chromeIpad)).toBe('Chrome on iPadOS');
    expect(describeDevice(UA.dsub)).toBe('DSub/5.5.3 on Android');
    expect(describeDevice(UA.curl)).toBe('curl/8.5.0');
    expect(
      describeDevice(
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
      ),
    ).toBe('Chrome (headless) on Linux');
    expect(describeDevice(null)).toBe('Unknown device');
    expect(describeUserAgent('Mozilla/5.0')).toEqual({ browser: null, os: null });
  });
});

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const login = (server: TestServer, userAgent: string) =>
  server.app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { 'user-agent': userAgent },
    payload: { username: 'alice', password: 'alice-password' },
  });

forEachServerEngine(() => {
  describe('web sessions', () => {
    it('EARSHOT_SESSION_DAYS sets the lifetime of the cookie and of the server-side session', async () => {
      const clock = new ManualClock();
      t = await startTestServer({ clock, env: { EARSHOT_SESSION_DAYS: '7', EARSHOT_SESSION_IDLE_HOURS: '0' } });
      await t.createUser({ username: 'alice', password: 'alice-password' });
      const res = await login(t, UA.chromeWindows);
      const expires = /Expires=([^;]+)/.exec(sessionSetCookie(res) ?? '')?.[1];
      expect(new Date(expires!).getTime()).toBe(Math.floor((clock.now() + 7 * DAY) / 1000) * 1000);
      const cookie = cookieHeader(res);
      clock.advance(7 * DAY + 1000);
      expect((await t.app.inject({ url: '/api/v1/me', headers: cookie })).statusCode).toBe(401);
    });

    it('the idle timeout ends a session nobody used for that long; a used one lives on', async () => {
      const clock = new ManualClock();
      t = await startTestServer({ clock, env: { EARSHOT_SESSION_IDLE_HOURS: '48' } });
      await t.createUser({ username: 'alice', password: 'alice-password' });
      const used = cookieHeader(await login(t, UA.firefoxAndroid));
      const unused = cookieHeader(await login(t, UA.chromeWindows));
      for (let i = 0; i < 3; i++) {
        clock.advance(30 * HOUR);
        expect((await t.app.inject({ url: '/api/v1/me', headers: used })).statusCode).toBe(200);
      }
      expect((await t.app.inject({ url: '/api/v1/me', headers: unused })).statusCode).toBe(401);
      const list = await t.app.inject({ url: '/api/v1/me/sessions', headers: used });
      expect(list.json().items.map((s: { device: string }) => s.device)).toEqual(['Firefox on Android']);
    });

    it('lists sessions with browser and OS names; "sign out everywhere" ends all of them and clears the cookie', async () => {
      t = await startTestServer();
      await t.createUser({ username: 'alice', password: 'alice-password' });
      const phone = cookieHeader(await login(t, UA.firefoxAndroid));
      const laptop = cookieHeader(await login(t, UA.chromeWindows));
      const token = await t.app.inject({
        method: 'POST',
        url: '/auth/token',
        headers: { 'user-agent': UA.dsub },
        payload: { grant_type: 'password', username: 'alice', password: 'alice-password' },
      });
      const bearer = { authorization: `Bearer ${token.json().access_token}` };

      const list = await t.app.inject({ url: '/api/v1/me/sessions', headers: laptop });
      const items = list.json().items as { device: string; browser: string; os: string; current: boolean }[];
      expect(items.map((s) => s.device).sort()).toEqual([
        'Chrome on Windows',
        'DSub/5.5.3 on Android',
        'Firefox on Android',
      ]);
      expect(items.find((s) => s.current)).toMatchObject({ browser: 'Chrome', os: 'Windows' });

      const out = await t.app.inject({ method: 'DELETE', url: '/api/v1/me/sessions', headers: laptop });
      expect(out.json()).toEqual({ revokedSessions: 3 });
      expect(sessionSetCookie(out)).toMatch(/earshot_session=;/);
      for (const headers of [phone, laptop, bearer]) {
        expect((await t.app.inject({ url: '/api/v1/me', headers })).statusCode).toBe(401);
      }
    });
  });
});
