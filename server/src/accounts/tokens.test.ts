import { forEachServerEngine } from '../test/engines.js';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/harness.js';
import { cookieHeader, form, ManualClock } from '../test/accounts.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const tokenRequest = (fields: Record<string, string>, extra: { remoteAddress?: string } = {}) =>
  t!.app.inject({ method: 'POST', url: '/auth/token', ...form(fields), ...extra });
const me = (access: string) => t!.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${access}` } });

forEachServerEngine(() => {
  describe('OAuth2 token endpoint', () => {
    it('password grant returns a bearer pair that works wherever the cookie does', async () => {
      t = await startTestServer();
      const alice = await t.createUser({ username: 'alice' });
      const res = await tokenRequest({ grant_type: 'password', username: 'alice', password: alice.password });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const body = res.json();
      expect(body).toMatchObject({ token_type: 'bearer', expires_in: 900 });
      expect(body.access_token.split('.')).toHaveLength(3);
      expect((await me(body.access_token)).json()).toMatchObject({ id: alice.id, username: 'alice' });
      const list = await t.app.inject({
        url: '/api/v1/playlists',
        headers: { authorization: `Bearer ${body.access_token}` },
      });
      expect(list.statusCode).toBe(200);
      // The refresh token is stored only as a hash.
      const rows = await t.earshot.database.db.selectFrom('refresh_tokens').select('token_hash').execute();
      expect(rows.map((r) => r.token_hash)).not.toContain(body.refresh_token);

      const wrong = await tokenRequest({ grant_type: 'password', username: 'alice', password: 'wrong-password' });
      expect(wrong.statusCode).toBe(400);
      expect(wrong.json()).toMatchObject({ error: 'invalid_grant' });
      const json = await t.app.inject({
        method: 'POST',
        url: '/auth/token',
        payload: { grant_type: 'password', username: 'alice', password: alice.password },
      });
      expect(json.statusCode).toBe(200);
      const bad = await t.app.inject({
        method: 'POST',
        url: '/auth/token',
        ...form({ grant_type: 'client_credentials' }),
      });
      expect(bad.statusCode).toBe(400);
    });

    it('rotates refresh tokens; a reused one revokes the whole family', async () => {
      t = await startTestServer();
      const alice = await t.createUser({ username: 'alice' });
      const first = (
        await tokenRequest({ grant_type: 'password', username: 'alice', password: alice.password })
      ).json();
      const second = await tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
      expect(second.statusCode).toBe(200);
      const pair2 = second.json();
      expect(pair2.refresh_token).not.toBe(first.refresh_token);
      expect((await me(pair2.access_token)).statusCode).toBe(200);

      // An attacker replays the first (already rotated) refresh token.
      const replay = await tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
      expect(replay.statusCode).toBe(400);
      expect(replay.json().detail).toMatch(/already used/);
      // The whole family is dead: the legitimate newest refresh token and its access token too.
      expect((await tokenRequest({ grant_type: 'refresh_token', refresh_token: pair2.refresh_token })).statusCode).toBe(
        400,
      );
      expect((await me(pair2.access_token)).statusCode).toBe(401);
      expect((await me(first.access_token)).statusCode).toBe(401);
    });

    it('two concurrent refreshes with one token: at most one wins and the family is revoked', async () => {
      t = await startTestServer();
      const alice = await t.createUser({ username: 'alice' });
      const pair = (await tokenRequest({ grant_type: 'password', username: 'alice', password: alice.password })).json();
      const results = await Promise.all([
        tokenRequest({ grant_type: 'refresh_token', refresh_token: pair.refresh_token }),
        tokenRequest({ grant_type: 'refresh_token', refresh_token: pair.refresh_token }),
      ]);
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 400]);
      const winner = results.find((r) => r.statusCode === 200)!.json();
      // The replay (however it raced) ended the family, so even the winner's tokens are dead.
      expect((await me(winner.access_token)).statusCode).toBe(401);
      const rows = await t.earshot.database.db.selectFrom('refresh_tokens').select('token_hash').execute();
      expect(rows).toHaveLength(2);
    });

    it('expires access tokens, rejects forged ones, and revokes families via /auth/revoke and session delete', async () => {
      const clock = new ManualClock();
      t = await startTestServer({ clock });
      const alice = await t.createUser({ username: 'alice' });
      const pair = (await tokenRequest({ grant_type: 'password', username: 'alice', password: alice.password })).json();
      clock.advance(15 * 60_000 + 1000);
      expect((await me(pair.access_token)).statusCode).toBe(401);
      const fresh = (await tokenRequest({ grant_type: 'refresh_token', refresh_token: pair.refresh_token })).json();
      expect((await me(fresh.access_token)).statusCode).toBe(200);

      // alg=none, a foreign key, a tampered payload.
      const [h, p] = fresh.access_token.split('.');
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
      expect((await me(none)).statusCode).toBe(401);
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32));
      expect((await me(foreign)).statusCode).toBe(401);
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${fresh.access_token.split('.')[2]}`;
      expect((await me(tampered)).statusCode).toBe(401);

      // The owner signs the API client out from the sessions list.
      const cookie = await t.authHeaders(alice);
      const sessions = (await t.app.inject({ url: '/api/v1/me/sessions', headers: cookie })).json().items;
      const api = sessions.find((s: { kind: string }) => s.kind === 'api');
      expect(api).toBeDefined();
      expect(
        (await t.app.inject({ method: 'DELETE', url: `/api/v1/me/sessions/${api.id}`, headers: cookie })).statusCode,
      ).toBe(204);
      expect((await me(fresh.access_token)).statusCode).toBe(401);
      expect((await tokenRequest({ grant_type: 'refresh_token', refresh_token: fresh.refresh_token })).statusCode).toBe(
        400,
      );

      const viaLogout = (
        await tokenRequest({ grant_type: 'password', username: 'alice', password: alice.password })
      ).json();
      const out = await t.app.inject({
        method: 'POST',
        url: '/auth/logout',
        headers: { authorization: `Bearer ${viaLogout.access_token}` },
      });
      expect(out.statusCode).toBe(204);
      expect((await me(viaLogout.access_token)).statusCode).toBe(401);
      expect(
        (await tokenRequest({ grant_type: 'refresh_token', refresh_token: viaLogout.refresh_token })).statusCode,
      ).toBe(400);

      const other = (
        await tokenRequest({ grant_type: 'password', username: 'alice', password: alice.password })
      ).json();
      expect(
        (await t.app.inject({ method: 'POST', url: '/auth/revoke', ...form({ token: other.refresh_token }) }))
          .statusCode,
      ).toBe(200);
      expect((await me(other.access_token)).statusCode).toBe(401);
    });
  });

  describe('password change and sessions', () => {
    it('changing the password signs out every other session and API client, keeping the current one', async () => {
      t = await startTestServer();
      const alice = await t.createUser({ username: 'alice', password: 'old-password' });
      const login = (password: string) =>
        t!.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password } });
      const laptop = cookieHeader(await login('old-password'));
      const phone = cookieHeader(await login('old-password'));
      const app = (await tokenRequest({ grant_type: 'password', username: 'alice', password: 'old-password' })).json();

      const changePassword = (currentPassword: string, newPassword: string) =>
        t!.app.inject({
          method: 'PUT',
          url: '/api/v1/me/password',
          headers: laptop,
          payload: { currentPassword, newPassword },
        });
      expect((await changePassword('not-it-at-all', 'new-password')).statusCode).toBe(400);
      expect((await changePassword('old-password', 'short')).statusCode).toBe(400);

      const res = await changePassword('old-password', 'new-password');
      expect(res.statusCode).toBe(200);
      expect(res.json().revokedSessions).toBe(2);
      expect((await t.app.inject({ url: '/api/v1/me', headers: laptop })).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/api/v1/me', headers: phone })).statusCode).toBe(401);
      expect((await me(app.access_token)).statusCode).toBe(401);
      expect((await tokenRequest({ grant_type: 'refresh_token', refresh_token: app.refresh_token })).statusCode).toBe(
        400,
      );
      expect((await login('old-password')).statusCode).toBe(401);
      expect((await login('new-password')).statusCode).toBe(200);
      expect(alice.id).toBeTruthy();
    });

    it('lists own sessions and refuses to touch another user’s (404)', async () => {
      t = await startTestServer();
      const alice = await t.createUser({ username: 'alice' });
      const bob = await t.createUser({ username: 'bob' });
      const a = await t.authHeaders(alice);
      const b = await t.authHeaders(bob);
      const mine = (await t.app.inject({ url: '/api/v1/me/sessions', headers: a })).json().items;
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ kind: 'web', current: true });
      const bobs = (await t.app.inject({ url: '/api/v1/me/sessions', headers: b })).json().items;
      expect(
        (await t.app.inject({ method: 'DELETE', url: `/api/v1/me/sessions/${bobs[0].id}`, headers: a })).statusCode,
      ).toBe(404);
      expect((await t.app.inject({ url: '/api/v1/me', headers: b })).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/api/v1/me/sessions' })).statusCode).toBe(401);
    });
  });
});
