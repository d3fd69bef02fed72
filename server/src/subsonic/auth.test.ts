import { forEachServerEngine } from '../test/engines.js';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { restCaller } from '../test/subsonic/client.js';

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

forEachServerEngine(() => {
  describe('Subsonic authentication', () => {
    let t: TestServer;
    let alice: TestUser;
    let appPassword: string;
    let apiKey: string;

    beforeAll(async () => {
      t = await startTestServer();
      alice = await t.createUser({ username: 'alice' });
      const headers = await t.authHeaders(alice);
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/me/app-passwords',
        headers,
        payload: { label: 'Phone' },
      });
      expect(created.statusCode).toBe(201);
      appPassword = created.json().password;
      const key = await t.app.inject({
        method: 'POST',
        url: '/api/v1/me/api-keys',
        headers,
        payload: { label: 'Tablet' },
      });
      apiKey = key.json().key;
    });
    afterAll(() => t.close());

    const code = async (q: Record<string, string>) => {
      const r = await restCaller(t, {}).raw('ping.view', { f: 'json', ...q });
      expect(r.statusCode).toBe(200);
      const body = r.json()['subsonic-response'];
      return body.status === 'ok' ? 'ok' : body.error.code;
    };

    it('accepts an app password plain, enc:-hex, and as md5 token with any (reused) salt', async () => {
      expect(await code({ u: 'alice', p: appPassword })).toBe('ok');
      expect(await code({ u: 'alice', p: `enc:${hex(appPassword)}` })).toBe('ok');
      for (const s of ['c19b2d', 'Feishin12chr', 'a-b_c-d_e-f_g-h_i-j_kl']) {
        expect(await code({ u: 'alice', t: md5(appPassword + s), s })).toBe('ok');
        expect(await code({ u: 'alice', t: md5(appPassword + s), s })).toBe('ok'); // reused salt + token
      }
      expect(await code({ u: 'ALICE', p: appPassword })).toBe('ok');
    });

    it('never accepts the login password (only app passwords and keys)', async () => {
      expect(await code({ u: 'alice', p: alice.password })).toBe(40);
      expect(await code({ u: 'alice', t: md5(`${alice.password}abc`), s: 'abc' })).toBe(40);
    });

    it('apiKey works alone; with u/p/t it is 43; p with t is 43; an unknown key is 44', async () => {
      expect(await code({ apiKey })).toBe('ok');
      const info = await restCaller(t, { apiKey }).json('tokenInfo');
      expect(info.tokenInfo).toEqual({ username: 'alice' });
      expect(await code({ apiKey, u: 'alice' })).toBe(43);
      expect(await code({ u: 'alice', p: appPassword, t: 'x', s: 'y' })).toBe(43);
      expect(await code({ apiKey: 'nope-not-a-key' })).toBe(44);
    });

    it('missing parameters are error 10; token without salt is 10', async () => {
      expect(await code({ p: appPassword })).toBe(10);
      expect(await code({ u: 'alice' })).toBe(10);
      expect(await code({ u: 'alice', t: md5(appPassword) })).toBe(10);
      const noClient = await t.app.inject({ url: `/rest/ping?u=alice&p=${appPassword}&v=1.16.1&f=json` });
      expect(noClient.json()['subsonic-response'].error.code).toBe(10);
    });

    it('protocol versions: 2.x → 30, 0.x → 20, old 1.x (DSub 1.2.0) accepted', async () => {
      expect(await code({ u: 'alice', p: appPassword, v: '2.0.0' })).toBe(30);
      expect(await code({ u: 'alice', p: appPassword, v: '0.9.0' })).toBe(20);
      expect(await code({ u: 'alice', p: appPassword, v: '1.2.0' })).toBe('ok');
    });

    it('revoked app passwords and keys stop working at once; a revoked key is 44', async () => {
      const headers = await t.authHeaders(alice);
      const pw = (await t.app.inject({ method: 'POST', url: '/api/v1/me/app-passwords', headers, payload: {} })).json();
      const key = (await t.app.inject({ method: 'POST', url: '/api/v1/me/api-keys', headers, payload: {} })).json();
      expect(await code({ u: 'alice', p: pw.password })).toBe('ok');
      expect(await code({ apiKey: key.key })).toBe('ok');
      const list = (await t.app.inject({ url: '/api/v1/me/app-passwords', headers })).json().items;
      expect(list.map((i: { id: string }) => i.id)).toContain(pw.id);
      expect(JSON.stringify(list)).not.toContain(pw.password);
      expect(
        (await t.app.inject({ method: 'DELETE', url: `/api/v1/me/app-passwords/${pw.id}`, headers })).statusCode,
      ).toBe(204);
      expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/me/api-keys/${key.id}`, headers })).statusCode).toBe(
        204,
      );
      expect(await code({ u: 'alice', p: pw.password })).toBe(40);
      const revoked = await restCaller(t, {}).raw('ping', { apiKey: key.key, f: 'json' });
      expect(revoked.json()['subsonic-response'].error).toMatchObject({
        code: 44,
        message: 'This API key was revoked.',
      });
      // Another user cannot revoke alice's credentials.
      const bob = await t.createUser({ username: 'bob' });
      const bobHeaders = await t.authHeaders(bob);
      const again = (await t.app.inject({ method: 'POST', url: '/api/v1/me/api-keys', headers, payload: {} })).json();
      expect(
        (await t.app.inject({ method: 'DELETE', url: `/api/v1/me/api-keys/${again.id}`, headers: bobHeaders }))
          .statusCode,
      ).toBe(404);
      expect(await code({ apiKey: again.key })).toBe('ok');
    });

    it('unsupported mechanisms are 42; a token for an account without app passwords is 41', async () => {
      expect(await code({ u: 'alice', jwt: 'eyJ.x.y' })).toBe(42);
      const erin = await t.createUser({ username: 'erin' });
      await t.earshot.accounts.subsonic.createApiKey(erin.id);
      expect(await code({ u: 'erin', t: md5('anything' + 'salt'), s: 'salt' })).toBe(41);
      expect(await code({ u: 'erin', p: 'anything' })).toBe(40);
    });

    it('JSONP wraps the JSON in the callback; a callback that is not an identifier gets plain JSON', async () => {
      const r = await restCaller(t, { apiKey }).raw('ping', { f: 'jsonp', callback: 'window.cb_1' });
      expect(r.headers['content-type']).toMatch(/^application\/javascript/);
      expect(r.body).toMatch(/^window\.cb_1\(\{"subsonic-response":\{"status":"ok".*\}\}\);$/);
      const evil = await restCaller(t, { apiKey }).raw('ping', { f: 'jsonp', callback: 'alert(1)//' });
      expect(evil.headers['content-type']).toMatch(/^application\/json/);
      expect(evil.body).not.toContain('alert');
    });

    it('getOpenSubsonicExtensions answers without authentication', async () => {
      const r = await t.app.inject({ url: '/rest/getOpenSubsonicExtensions?f=json' });
      const body = r.json()['subsonic-response'];
      expect(body).toMatchObject({ status: 'ok', openSubsonic: true, type: 'earshot' });
      expect(body.openSubsonicExtensions.map((e: { name: string }) => e.name)).toContain('apiKeyAuthentication');
    });

    it('throttles failed attempts like the web login: 40s (5 per account and client), then a clear throttled error even for the right password', async () => {
      const victim = await t.createUser({ username: 'carol' });
      const pw = (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/me/app-passwords',
          headers: await t.authHeaders(victim),
          payload: {},
        })
      ).json().password;
      const results: unknown[] = [];
      // The sign-in throttle's first limit is per (username, client) pair: 5 failures (accounts/README.md).
      for (let i = 0; i < 5; i++) results.push(await code({ u: 'carol', p: `wrong-${i}` }));
      expect(results).toEqual([40, 40, 40, 40, 40]);
      const blocked = await restCaller(t, {}).raw('ping', { u: 'carol', p: pw, f: 'json' });
      const error = blocked.json()['subsonic-response'].error;
      expect(error.code).toBe(0);
      expect(error.message).toMatch(/Too many failed sign-in attempts/);
    });
  });
});
