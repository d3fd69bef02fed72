/**
 * Per-user web app preferences (the theme): saved per account, mirrored into the readable theme
 * cookie, and followed by the public share page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { addLocalTrack } from '../test/streaming.js';
import { forEachServerEngine } from '../test/engines.js';

let t: TestServer;
let tess: TestUser;
let headers: Record<string, string>;

forEachServerEngine(() => {
  beforeAll(async () => {
    t = await startTestServer();
    tess = await t.createUser({ username: 'tess' });
    headers = await t.authHeaders(tess);
  });
  afterAll(() => t.close());

  const themeCookie = (setCookie: string | string[] | undefined) =>
    [setCookie ?? []].flat().find((c) => c.startsWith('earshot_theme='));

  describe('theme preference', () => {
    it('defaults to the system theme, is saved per user and mirrored into the theme cookie', async () => {
      const first = await t.app.inject({ url: '/api/v1/me/preferences', headers });
      expect(first.statusCode).toBe(200);
      expect(first.json()).toEqual({ theme: 'system' });
      expect(themeCookie(first.headers['set-cookie'])).toMatch(
        /^earshot_theme=system; Max-Age=31536000; Path=\/; SameSite=Lax$/,
      );

      const put = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/me/preferences',
        headers,
        payload: { theme: 'dark' },
      });
      expect(put.statusCode).toBe(200);
      expect(put.json()).toEqual({ theme: 'dark' });
      expect(themeCookie(put.headers['set-cookie'])).toMatch(/^earshot_theme=dark;/);

      // Another browser of the same user (a new session) gets it; another user does not.
      const tess2 = await t.authHeaders(tess);
      expect((await t.app.inject({ url: '/api/v1/me/preferences', headers: tess2 })).json()).toEqual({ theme: 'dark' });
      const other = await t.authHeaders(await t.createUser({ username: 'otto' }));
      expect((await t.app.inject({ url: '/api/v1/me/preferences', headers: other })).json()).toEqual({
        theme: 'system',
      });
    });

    it('refuses unknown themes and anonymous callers', async () => {
      const bad = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/me/preferences',
        headers,
        payload: { theme: 'pink' },
      });
      expect(bad.statusCode).toBe(400);
      expect((await t.app.inject({ url: '/api/v1/me/preferences', headers })).json()).toEqual({ theme: 'dark' });
      expect((await t.app.inject({ url: '/api/v1/me/preferences' })).statusCode).toBe(401);
    });

    it('the public share page follows the visitor’s theme cookie, else their device', async () => {
      const track = await addLocalTrack(t.earshot, 'x/song.mp3', { seconds: 1 }, { title: 'Song' });
      const share = (
        await t.app.inject({ method: 'POST', url: '/api/v1/shares', headers, payload: { kind: 'track', id: track.id } })
      ).json();
      const page = (cookie?: string) =>
        t.app.inject({ url: share.url, headers: cookie ? { cookie } : {} }).then((r) => r.body);
      expect(await page('earshot_theme=dark')).toContain('<html lang="en" data-theme="dark">');
      expect(await page('earshot_theme=light')).toContain('<html lang="en" data-theme="light">');
      const plain = await page();
      expect(plain).toContain('<html lang="en">');
      expect(plain).toContain('<meta name="color-scheme" content="light dark">');
      expect(plain).toContain('@media (prefers-color-scheme:dark)');
      // Nonsense in the cookie is ignored, never echoed.
      expect(await page('earshot_theme="><script>')).toContain('<html lang="en">');
      // The expiry is a <time> the page script localises; readable in UTC without it.
      expect(plain).toMatch(
        /Link valid until <time data-local datetime="\d{4}-\d\d-\d\dT[\d:.]+Z">\d{1,2} \w+ \d{4}, \d\d:\d\d UTC<\/time>/,
      );
    });
  });
});
