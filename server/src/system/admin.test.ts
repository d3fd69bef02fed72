import { forEachServerEngine } from '../test/engines.js';
import { afterEach, describe, expect, it } from 'vitest';
import { form } from '../test/accounts.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { toolWarning, YTDLP_STALE_DAYS, ytDlpAgeDays } from './tools.js';

const ytDlpReleased = (version: string) => Date.now() - (ytDlpAgeDays(version) ?? 0) * 86_400_000;

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
const call = (method: Method, url: string, headers: Record<string, string>, payload?: object) =>
  t!.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

async function setup() {
  t = await startTestServer();
  const root = await t.createUser({ username: 'root', role: 'admin' });
  const user = await t.createUser({ username: 'user' });
  return { root, user, r: await t.authHeaders(root), u: await t.authHeaders(user) };
}

forEachServerEngine(() => {
  describe('admin API', () => {
    it('SECURITY 13: non-admins get 403 and anonymous callers 401 on every admin route (and storage details)', async () => {
      const { u, user } = await setup();
      const id = user.id;
      const routes: [Method, string, object?][] = [
        ['GET', '/api/v1/admin/users'],
        ['POST', '/api/v1/admin/users', { username: 'x', password: 'long enough pw' }],
        ['PATCH', `/api/v1/admin/users/${id}`, { role: 'admin' }],
        ['DELETE', `/api/v1/admin/users/${id}`],
        ['GET', `/api/v1/admin/users/${id}/sessions`],
        ['DELETE', `/api/v1/admin/sessions/${id}`],
        ['GET', '/api/v1/admin/registration'],
        ['PUT', '/api/v1/admin/registration', { mode: 'open' }],
        ['GET', '/api/v1/admin/invites'],
        ['POST', '/api/v1/admin/invites', {}],
        ['DELETE', `/api/v1/admin/invites/${id}`],
        ['GET', '/api/v1/admin/server'],
      ];
      for (const [method, url, body] of routes) {
        expect((await call(method, url, u, body)).statusCode, `${method} ${url}`).toBe(403);
        expect((await call(method, url, {}, body)).statusCode, `anonymous ${method} ${url}`).toBe(401);
      }
      // Nothing changed.
      expect((await call('GET', '/api/v1/me', u)).json().role).toBe('user');
      expect((await call('GET', '/system/storage', u)).json().library.path).toBeUndefined();
    });

    it('creates, lists, promotes, resets and deletes users; never loses the last admin', async () => {
      const { r, root, user } = await setup();
      const created = await call('POST', '/api/v1/admin/users', r, {
        username: 'Newbie',
        password: 'long enough pw',
        createdAt: 1,
        isAdmin: true,
      });
      expect(created.statusCode).toBe(201);
      expect(created.json()).toMatchObject({ username: 'Newbie', role: 'user' });
      expect(created.json().createdAt).not.toBe(1);
      expect(
        (await call('POST', '/api/v1/admin/users', r, { username: 'newbie', password: 'long enough pw' })).statusCode,
      ).toBe(409);
      expect((await call('POST', '/api/v1/admin/users', r, { username: 'x', password: 'short' })).statusCode).toBe(400);
      const list = (await call('GET', '/api/v1/admin/users', r)).json().items;
      expect(list.map((x: { username: string }) => x.username)).toEqual(['Newbie', 'root', 'user']);
      expect(JSON.stringify(list)).not.toMatch(/argon2|password/i);

      // Last admin: cannot be demoted or deleted.
      expect((await call('PATCH', `/api/v1/admin/users/${root.id}`, r, { role: 'user' })).statusCode).toBe(409);
      expect((await call('DELETE', `/api/v1/admin/users/${root.id}`, r)).statusCode).toBe(409);
      // With a second admin it can.
      expect((await call('PATCH', `/api/v1/admin/users/${user.id}`, r, { role: 'admin' })).json().role).toBe('admin');

      // Password reset signs the user out everywhere; the new password works.
      const userSession = await t!.authHeaders(user);
      expect(
        (await call('PATCH', `/api/v1/admin/users/${user.id}`, r, { password: 'reset-by-admin' })).statusCode,
      ).toBe(200);
      expect((await call('GET', '/api/v1/me', userSession)).statusCode).toBe(401);
      const login = await t!.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: 'user', password: 'reset-by-admin' },
      });
      expect(login.statusCode).toBe(200);

      expect((await call('PATCH', `/api/v1/admin/users/${root.id}`, r, { role: 'user' })).statusCode).toBe(200);
      expect((await call('GET', '/api/v1/admin/users', r)).statusCode).toBe(403); // demoted at once
      expect(
        (await call('PATCH', '/api/v1/admin/users/nosuchuser', await t!.authHeaders(user), { role: 'user' }))
          .statusCode,
      ).toBe(404);
      const u2 = await t!.authHeaders(user);
      expect((await call('DELETE', `/api/v1/admin/users/${root.id}`, u2)).statusCode).toBe(204);
      expect((await call('DELETE', `/api/v1/admin/users/${user.id}`, u2)).statusCode).toBe(409);
    });

    it('lists and revokes anyone’s sessions, including API token families', async () => {
      const { r, user } = await setup();
      const web = await t!.authHeaders(user);
      const tokens = (
        await t!.app.inject({
          method: 'POST',
          url: '/auth/token',
          ...form({ grant_type: 'password', username: 'user', password: user.password }),
        })
      ).json();
      const sessions = (await call('GET', `/api/v1/admin/users/${user.id}/sessions`, r)).json().items;
      expect(sessions.map((s: { kind: string }) => s.kind).sort()).toEqual(['api', 'web', 'web']); // setup() signed in once too
      for (const s of sessions)
        expect((await call('DELETE', `/api/v1/admin/sessions/${s.id}`, r)).statusCode).toBe(204);
      expect((await call('GET', '/api/v1/me', web)).statusCode).toBe(401);
      expect((await call('GET', '/api/v1/me', { authorization: `Bearer ${tokens.access_token}` })).statusCode).toBe(
        401,
      );
      expect((await call('DELETE', `/api/v1/admin/sessions/${sessions[0].id}`, r)).statusCode).toBe(404);
    });

    it('reports server info with tool availability and counts', async () => {
      const { r } = await setup();
      const info = (await call('GET', '/api/v1/admin/server', r)).json();
      expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(info.node).toBe(process.version);
      expect(info.uptimeSeconds).toBeGreaterThanOrEqual(0);
      expect(info.counts).toMatchObject({ users: 2, tracks: 0, playlists: 0 });
      const ffmpeg = info.tools.find((x: { name: string }) => x.name === 'ffmpeg');
      expect(ffmpeg).toMatchObject({ available: true });
      const ytdlp = info.tools.find((x: { name: string }) => x.name === 'yt-dlp');
      expect(ytdlp).toMatchObject({ available: true });
      expect(ffmpeg.warning).toBeNull();
      // The age is measured against the server's clock: the same binary is fine a month after its
      // release and reported as old years later (Debian 12 ships 2023.03.04).
      const released = ytDlpReleased(ytdlp.version);
      expect(toolWarning(ytdlp, released + 30 * 86_400_000)).toBeNull();
      expect(toolWarning(ytdlp, released + (3 * 365 + 270) * 86_400_000)).toMatch(
        /^yt-dlp \S+ is 3 years old; .*Update it\.$/,
      );
      expect(toolWarning({ name: 'yt-dlp', available: true, version: '2023.03.04' }, Date.UTC(2026, 11, 5))).toMatch(
        /2023\.03\.04 is 3 years old/,
      );
      expect(toolWarning({ name: 'yt-dlp', available: true, version: '2026.11.20' }, Date.UTC(2026, 11, 5))).toBeNull();
      expect(toolWarning({ name: 'yt-dlp', available: false }, Date.UTC(2026, 11, 5))).toBeNull();
      if (Date.now() - released > YTDLP_STALE_DAYS * 86_400_000) expect(ytdlp.warning).toMatch(/old/);
      else expect(ytdlp.warning).toBeNull();
    });
  });
});
