import { Writable } from 'node:stream';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createEarshot } from '../main.js';
import { startTestServer, type TestServer, testConfig, testDatabaseUrl } from '../test/harness.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cookieHeader, form, ManualClock, sessionSetCookie } from '../test/accounts.js';
import { forEachServerEngine } from '../test/engines.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function setupToken(server: TestServer): Promise<string> {
  const issued = await server.earshot.accounts.registration.issueSetupToken();
  if (!issued) throw new Error('setup not required');
  return issued.token;
}

forEachServerEngine((engine) => {
  describe('first run', () => {
    it('logs one setup link at start-up while no user exists, and a new one at each start', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'earshot-setup-'));
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      });
      const databaseUrl = await testDatabaseUrl();
      const config = testConfig(dir, {
        EARSHOT_PUBLIC_URL: 'https://music.example.com',
        EARSHOT_LOG_LEVEL: 'info',
        ...(databaseUrl ? { EARSHOT_DATABASE_URL: databaseUrl } : {}),
      });
      try {
        const first = await createEarshot(config, { logger: pino({ level: 'info' }, sink), background: false });
        await first.close();
        const links = lines.join('').match(/https:\/\/music\.example\.com\/setup\?token=[A-Za-z0-9_-]+/g) ?? [];
        expect(new Set(links).size).toBe(1);
        const oldToken = new URL(links[0] as string).searchParams.get('token')!;

        lines.length = 0;
        const second = await createEarshot(config, { logger: pino({ level: 'info' }, sink), background: false });
        const newLinks = lines.join('').match(/\/setup\?token=([A-Za-z0-9_-]+)/) ?? [];
        expect(newLinks[1]).toBeDefined();
        expect(newLinks[1]).not.toBe(oldToken);
        // The link of the previous start no longer works; the new one does (once).
        const stale = await second.app.inject({
          method: 'POST',
          url: '/auth/setup',
          payload: { token: oldToken, username: 'root', password: 'correct horse' },
        });
        expect(stale.statusCode).toBe(403);
        const ok = await second.app.inject({
          method: 'POST',
          url: '/auth/setup',
          payload: { token: newLinks[1], username: 'root', password: 'correct horse' },
        });
        expect(ok.statusCode).toBe(201);
        await second.close();

        lines.length = 0;
        const third = await createEarshot(config, { logger: pino({ level: 'info' }, sink), background: false });
        expect(lines.join('')).not.toContain('/setup?token=');
        await third.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('creates the first account as admin, signs in, and works only once', async () => {
      t = await startTestServer();
      const status = await t.app.inject({ url: '/auth/status' });
      expect(status.json()).toEqual({ setupRequired: true, registration: 'closed', user: null });

      const token = await setupToken(t);
      const res = await t.app.inject({
        method: 'POST',
        url: '/auth/setup',
        payload: { token, username: 'Owner', password: 'long enough pw' },
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ username: 'Owner', role: 'admin' });
      const me = await t.app.inject({ url: '/api/v1/me', headers: cookieHeader(res) });
      expect(me.json()).toMatchObject({ username: 'Owner', role: 'admin' });

      const again = await t.app.inject({
        method: 'POST',
        url: '/auth/setup',
        payload: { token, username: 'mallory', password: 'long enough pw' },
      });
      expect(again.statusCode).toBe(409);
      // And no new token can be minted once a user exists.
      expect(await t.earshot.accounts.registration.issueSetupToken()).toBeNull();
      const after = await t.app.inject({ url: '/auth/status' });
      expect(after.json()).toMatchObject({ setupRequired: false, user: null });
    });

    it('refuses a wrong or expired token, and keeps the token after a rejected password', async () => {
      const clock = new ManualClock();
      t = await startTestServer({ clock });
      const token = await setupToken(t);
      const wrong = await t.app.inject({
        method: 'POST',
        url: '/auth/setup',
        payload: { token: `${token}x`, username: 'a', password: 'long enough pw' },
      });
      expect(wrong.statusCode).toBe(403);
      const weak = await t.app.inject({
        method: 'POST',
        url: '/auth/setup',
        payload: { token, username: 'a', password: 'short' },
      });
      expect(weak.statusCode).toBe(400);
      expect(weak.json().detail).toMatch(/at least 8 characters/);
      clock.advance(24 * 3600 * 1000 + 1);
      const expired = await t.app.inject({
        method: 'POST',
        url: '/auth/setup',
        payload: { token, username: 'a', password: 'long enough pw' },
      });
      expect(expired.statusCode).toBe(403);
      expect(expired.json().detail).toMatch(/expired/);
      expect(await t.earshot.accounts.users.count()).toBe(0);
    });

    it('stores an argon2id hash with the OWASP parameters', async () => {
      t = await startTestServer();
      const token = await setupToken(t);
      await t.app.inject({
        method: 'POST',
        url: '/auth/setup',
        payload: { token, username: 'owner', password: 'long enough pw' },
      });
      const row = await t.earshot.database.db.selectFrom('users').select('password_hash').executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(row.password_hash).not.toContain('long enough pw');
    });
  });

  describe('registration modes', () => {
    async function withAdmin(env: Record<string, string> = {}, clock?: ManualClock) {
      t = await startTestServer({ env, clock });
      const admin = await t.createUser({ username: 'admin', role: 'admin' });
      return { admin, headers: await t.authHeaders(admin) };
    }
    const register = (payload: Record<string, string>) =>
      t!.app.inject({ method: 'POST', url: '/auth/register', payload });

    it('closed (default): nobody can sign up', async () => {
      await withAdmin();
      const res = await register({ username: 'eve', password: 'long enough pw' });
      expect(res.statusCode).toBe(403);
      expect((await t!.app.inject({ url: '/auth/status' })).json().registration).toBe('closed');
    });

    it('refuses registration before first-run setup even when open', async () => {
      t = await startTestServer({ env: { EARSHOT_REGISTRATION: 'open' } });
      const res = await register({ username: 'eve', password: 'long enough pw' });
      expect(res.statusCode).toBe(403);
    });

    it('open: anyone signs up as a plain user and is signed in; names are unique case-insensitively', async () => {
      await withAdmin({ EARSHOT_REGISTRATION: 'open' });
      const res = await register({ username: 'Bob', password: 'long enough pw' });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ username: 'Bob', role: 'user' });
      expect(sessionSetCookie(res)).toBeDefined();
      expect((await register({ username: 'bob', password: 'long enough pw' })).statusCode).toBe(409);
      expect((await register({ username: 'ADMIN', password: 'long enough pw' })).statusCode).toBe(409);
      const bad = await register({ username: 'with space', password: 'long enough pw' });
      expect(bad.statusCode).toBe(400);
      // Mass assignment: a role in the body is ignored.
      const sneaky = await t!.app.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { username: 'carol', password: 'long enough pw', role: 'admin', isAdmin: true, createdAt: 1 },
      });
      expect(sneaky.statusCode).toBe(201);
      expect(sneaky.json().role).toBe('user');
      expect(sneaky.json().createdAt).not.toBe(1);
    });

    it('invite: needs a valid, unexpired, unused invite; the admin can switch modes', async () => {
      const clock = new ManualClock();
      const { headers } = await withAdmin({}, clock);
      const setMode = await t!.app.inject({
        method: 'PUT',
        url: '/api/v1/admin/registration',
        headers,
        payload: { mode: 'invite' },
      });
      expect(setMode.json()).toEqual({ mode: 'invite' });
      expect((await register({ username: 'dave', password: 'long enough pw' })).statusCode).toBe(403);

      const created = await t!.app.inject({
        method: 'POST',
        url: '/api/v1/admin/invites',
        headers,
        payload: { expiresInHours: 1 },
      });
      expect(created.statusCode).toBe(201);
      const { token, url } = created.json();
      expect(url).toContain(`/register?invite=${token}`);
      expect((await t!.app.inject({ url: `/auth/invite/${token}` })).statusCode).toBe(200);
      expect((await t!.app.inject({ url: `/auth/invite/${'x'.repeat(32)}` })).statusCode).toBe(404);

      const ok = await register({ username: 'dave', password: 'long enough pw', invite: token });
      expect(ok.statusCode).toBe(201);
      expect((await register({ username: 'erin', password: 'long enough pw', invite: token })).statusCode).toBe(403);
      expect((await t!.app.inject({ url: `/auth/invite/${token}` })).statusCode).toBe(404);

      const second = (
        await t!.app.inject({ method: 'POST', url: '/api/v1/admin/invites', headers, payload: { expiresInHours: 1 } })
      ).json();
      clock.advance(3600_000 + 1);
      expect((await register({ username: 'erin', password: 'long enough pw', invite: second.token })).statusCode).toBe(
        403,
      );

      const third = (
        await t!.app.inject({ method: 'POST', url: '/api/v1/admin/invites', headers, payload: {} })
      ).json();
      expect(
        (await t!.app.inject({ method: 'DELETE', url: `/api/v1/admin/invites/${third.id}`, headers })).statusCode,
      ).toBe(204);
      expect((await register({ username: 'erin', password: 'long enough pw', invite: third.token })).statusCode).toBe(
        403,
      );

      const list = (await t!.app.inject({ url: '/api/v1/admin/invites', headers })).json().items;
      expect(list.map((i: { state: string }) => i.state).sort()).toEqual(['expired', 'revoked', 'used']);
      expect(JSON.stringify(list)).not.toContain(token);
    });
  });

  describe('login and logout', () => {
    it('sets an httpOnly, SameSite=Lax, Path=/ cookie (not Secure over http) and logs out', async () => {
      t = await startTestServer();
      await t.createUser({ username: 'alice', password: 'alice-password' });
      const res = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: 'alice', password: 'alice-password' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ username: 'alice', role: 'user' });
      const cookie = sessionSetCookie(res)!;
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Lax/);
      expect(cookie).toMatch(/Path=\//);
      expect(cookie).not.toMatch(/Secure/);

      const headers = cookieHeader(res);
      expect((await t.app.inject({ url: '/auth/status', headers })).json().user).toMatchObject({ username: 'alice' });
      const out = await t.app.inject({ method: 'POST', url: '/auth/logout', headers });
      expect(out.statusCode).toBe(204);
      expect(sessionSetCookie(out)).toMatch(/earshot_session=;/);
      expect((await t.app.inject({ url: '/api/v1/me', headers })).statusCode).toBe(401);
    });

    it('marks the cookie Secure when the public URL is https, and accepts form posts', async () => {
      t = await startTestServer({ env: { EARSHOT_PUBLIC_URL: 'https://music.example.com' } });
      await t.createUser({ username: 'alice', password: 'alice-password' });
      const res = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        ...form({ username: 'alice', password: 'alice-password' }),
      });
      expect(res.statusCode).toBe(200);
      expect(sessionSetCookie(res)).toMatch(/; Secure/);
    });

    it('SECURITY 4: matches usernames case-folded and exactly: % and _ are not wildcards', async () => {
      t = await startTestServer();
      await t.createUser({ username: 'alice', password: 'alice-password' });
      const login = (username: string) =>
        t!.app.inject({ method: 'POST', url: '/auth/login', payload: { username, password: 'alice-password' } });
      expect((await login('ALICE')).statusCode).toBe(200);
      expect((await login('Alice')).statusCode).toBe(200);
      for (const name of ['%', '_lice', 'al%', 'a____', '%alice%']) expect((await login(name)).statusCode).toBe(401);
      const wrong = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: 'alice', password: 'nope-nope' },
      });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().detail).toBe('Wrong username or password.');
      expect(sessionSetCookie(wrong)).toBeUndefined();
    });
  });

  describe('session lookups between writes', () => {
    it('reuses a lookup until anything is written: revocation and disabling apply at once, from another process within 250 ms', async () => {
      t = await startTestServer();
      const alice = await t.createUser({ username: 'alice', password: 'alice-password' });
      const login = () =>
        t!.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { username: 'alice', password: 'alice-password' },
        });
      const me = (headers: Record<string, string>) => t!.app.inject({ url: '/api/v1/me', headers });
      const first = cookieHeader(await login());
      const second = cookieHeader(await login());
      expect((await me(first)).statusCode).toBe(200);
      expect((await me(first)).statusCode).toBe(200); // the cached lookup

      // Revoked in this process (a write on the same connection): refused on the very next request.
      const sessions = await t.earshot.accounts.sessions.listForUser(alice.id);
      expect(sessions).toHaveLength(2);
      await t.app.inject({ method: 'POST', url: '/auth/logout', headers: first });
      expect((await me(first)).statusCode).toBe(401);
      expect((await me(second)).statusCode).toBe(200);

      // Disabled by another process (the CLI): refused within a quarter of a second.
      if (engine === 'sqlite') {
        const other = new SQLite(t.sqlite.name);
        try {
          other.prepare('update users set disabled = 1 where id = ?').run(alice.id);
        } finally {
          other.close();
        }
      } else {
        const other = new pg.Client({ connectionString: t.config.databaseUrl });
        await other.connect();
        try {
          await other.query('update users set disabled = 1 where id = $1', [alice.id]);
        } finally {
          await other.end();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await me(second)).statusCode).toBe(401);
    });
  });

  describe('session lifetime', () => {
    it('slides: a session used regularly outlives the 30 days, an idle one expires', async () => {
      const clock = new ManualClock();
      // Lifetime only: the idle timeout (sessions.test.ts) would end both sessions after 20 unused days.
      t = await startTestServer({ clock, env: { EARSHOT_SESSION_IDLE_HOURS: '0' } });
      await t.createUser({ username: 'alice', password: 'alice-password' });
      const login = () =>
        t!.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { username: 'alice', password: 'alice-password' },
        });
      const active = cookieHeader(await login());
      const idle = cookieHeader(await login());
      const day = 24 * 3600 * 1000;
      clock.advance(20 * day);
      const status = await t.app.inject({ url: '/auth/status', headers: active });
      expect(status.json().user).toMatchObject({ username: 'alice' });
      const expires = /Expires=([^;]+)/.exec(sessionSetCookie(status) ?? '')?.[1];
      expect(new Date(expires!).getTime()).toBe(Math.floor((clock.now() + 30 * day) / 1000) * 1000);
      clock.advance(15 * day); // 35 days after sign-in
      expect((await t.app.inject({ url: '/api/v1/me', headers: active })).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/api/v1/me', headers: idle })).statusCode).toBe(401);
    });
  });

  describe('CSRF origin check', () => {
    it('refuses cross-site state changes made with the cookie, allows same-origin and bearer', async () => {
      t = await startTestServer({ env: { EARSHOT_PUBLIC_URL: 'https://music.example.com' } });
      const alice = await t.createUser({ username: 'alice' });
      const headers = await t.authHeaders(alice);
      const create = (extra: Record<string, string>) =>
        t!.app.inject({
          method: 'POST',
          url: '/api/v1/playlists',
          headers: { ...headers, ...extra },
          payload: { name: 'x' },
        });

      expect((await create({ origin: 'https://evil.example' })).statusCode).toBe(403);
      expect((await create({ origin: 'null' })).statusCode).toBe(403);
      expect((await create({ 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
      expect((await create({ 'sec-fetch-site': 'same-site' })).statusCode).toBe(403);
      expect((await create({ origin: 'https://music.example.com' })).statusCode).toBe(201);
      expect((await create({ origin: 'http://localhost:80', host: 'localhost:80' })).statusCode).toBe(201);
      expect((await create({ 'sec-fetch-site': 'same-origin' })).statusCode).toBe(201);
      // GET is never blocked.
      expect(
        (await t.app.inject({ url: '/api/v1/playlists', headers: { ...headers, origin: 'https://evil.example' } }))
          .statusCode,
      ).toBe(200);

      // Login CSRF: a cross-site form posting credentials is refused too.
      const login = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        ...form({ username: 'alice', password: alice.password }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      });
      expect(login.statusCode).toBe(403);

      // Bearer requests are exempt (a browser never adds Authorization on its own).
      const tokens = (
        await t.app.inject({
          method: 'POST',
          url: '/auth/token',
          ...form({ grant_type: 'password', username: 'alice', password: alice.password }),
        })
      ).json();
      const bearer = await t.app.inject({
        method: 'POST',
        url: '/api/v1/playlists',
        headers: { authorization: `Bearer ${tokens.access_token}`, origin: 'https://evil.example' },
        payload: { name: 'from an app' },
      });
      expect(bearer.statusCode).toBe(201);
    });
  });

  describe('SECURITY 10: returnTo after a form sign-in', () => {
    it('redirects only to same-origin relative paths', async () => {
      t = await startTestServer();
      const alice = await t.createUser({ username: 'alice' });
      const cases: [string, string][] = [
        ['/playlists?tab=mine#top', '/playlists?tab=mine#top'],
        ['javascript:alert(1)', '/'],
        ['//evil.com', '/'],
        ['https://evil.com', '/'],
        ['/\\evil.com', '/'],
        ['/%0d%0aSet-Cookie:x=1', '/%0d%0aSet-Cookie:x=1'],
        ['\t//evil.com', '/'],
      ];
      for (const [returnTo, expected] of cases) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/auth/login',
          ...form({ username: 'alice', password: alice.password, returnTo }),
        });
        expect(res.statusCode, returnTo).toBe(303);
        expect(res.headers.location, returnTo).toBe(expected);
        expect(sessionSetCookie(res)).toBeDefined();
      }
      // A failed sign-in never redirects.
      const wrong = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        ...form({ username: 'alice', password: 'nope-nope', returnTo: '/x' }),
      });
      expect(wrong.statusCode).toBe(401);
    });
  });
});
