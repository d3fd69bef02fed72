/**
 * Trusted forward-auth headers (Authelia/Authentik `Remote-*`, `tailscale serve`) and
 * SECURITY.md case 7: identity headers from an untrusted peer are ignored.
 * The app is driven through `inject()` with an explicit socket address per request.
 */
import { forEachServerEngine } from '../test/engines.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/harness.js';

const PROXY = '10.0.0.5';
const STRANGER = '203.0.113.9';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function me(server: TestServer, remoteAddress: string, headers: Record<string, string>) {
  return server.app.inject({ url: '/api/v1/me', remoteAddress, headers });
}

forEachServerEngine(() => {
  describe('SECURITY.md case 7: identity headers from an untrusted peer', () => {
    it('ignores Remote-User: admin, Tailscale-User-Login and a junk Cf-Access-Jwt-Assertion (401)', async () => {
      t = await startTestServer({
        env: {
          EARSHOT_TRUSTED_PROXIES: PROXY,
          EARSHOT_AUTH_PROXY_HEADER: 'Remote-User',
          // Access configured too: its header must be ignored before any verification is tried.
          EARSHOT_CF_ACCESS_TEAM_DOMAIN: 'https://family.cloudflareaccess.com',
          EARSHOT_CF_ACCESS_AUD: 'aud-tag',
          EARSHOT_REGISTRATION: 'open',
        },
      });
      await t.createUser({ username: 'admin', role: 'admin' });
      for (const headers of <Record<string, string>[]>[
        { 'remote-user': 'admin' },
        { 'remote-user': 'admin', 'remote-groups': 'admins', 'x-forwarded-for': PROXY },
        { 'tailscale-user-login': 'admin' },
        { 'cf-access-jwt-assertion': 'junk.junk.junk' },
      ]) {
        const res = await me(t, STRANGER, headers);
        expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      }
      // An IPv4-mapped form of an untrusted address is the same untrusted address.
      expect((await me(t, `::ffff:${STRANGER}`, { 'remote-user': 'admin' })).statusCode).toBe(401);
      // Nobody was created from those headers.
      expect((await t.earshot.accounts.users.list()).map((u) => u.username)).toEqual(['admin']);
    });

    it('with no trusted proxies configured, the header is never honoured, even from loopback', async () => {
      t = await startTestServer({ env: { EARSHOT_AUTH_PROXY_HEADER: 'Remote-User' } });
      await t.createUser({ username: 'admin', role: 'admin' });
      expect((await me(t, '127.0.0.1', { 'remote-user': 'admin' })).statusCode).toBe(401);
    });
  });

  describe('forward-auth from a trusted proxy', () => {
    const env = {
      EARSHOT_TRUSTED_PROXIES: `${PROXY},127.0.0.0/8`,
      EARSHOT_AUTH_PROXY_HEADER: 'Remote-User',
      EARSHOT_OIDC_ADMIN_GROUPS: 'earshot-admins',
    };

    it('signs in the existing user named by Remote-User; the same header from a stranger does nothing', async () => {
      t = await startTestServer({ env });
      await t.createUser({ username: 'alice' });
      const ok = await me(t, PROXY, { 'remote-user': 'Alice', 'remote-email': 'alice@example.com' });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({ username: 'alice', role: 'user' });
      expect((await me(t, STRANGER, { 'remote-user': 'alice' })).statusCode).toBe(401);
      // The link is remembered by (issuer, subject) and the verified email is stored.
      const alice = await t.earshot.accounts.users.getByName('alice');
      expect(alice.email).toBe('alice@example.com');
      const links = await t.earshot.accounts.identities.listForUser(alice.id);
      expect(links).toMatchObject([{ provider: 'proxy', issuer: 'proxy:remote-user', subject: 'Alice' }]);
    });

    it('unknown users follow the registration mode; admin groups map to the admin role', async () => {
      t = await startTestServer({ env });
      await t.createUser({ username: 'owner', role: 'admin' });
      // closed (default): nobody new gets in.
      expect((await me(t, PROXY, { 'remote-user': 'bob' })).statusCode).toBe(401);
      await t.earshot.accounts.registration.setMode('open', 'test');
      const bob = await me(t, PROXY, { 'remote-user': 'bob', 'remote-name': 'Bob B' });
      expect(bob.json()).toMatchObject({ username: 'bob', role: 'user' });
      const carol = await me(t, PROXY, { 'remote-user': 'carol', 'remote-groups': 'family, earshot-admins' });
      expect(carol.json()).toMatchObject({ username: 'carol', role: 'admin' });
      // A proxy-created account has no password: the password form cannot open it.
      const row = await t.earshot.accounts.users.getByName('bob');
      expect(row.password_hash).toBeNull();
      expect(row.display_name).toBe('Bob B');
    });

    it('state changes signed in by the proxy still need our own origin (CSRF)', async () => {
      // The proxy serves Earshot under its own name (allowed, or the Host check answers 421 first).
      t = await startTestServer({ env: { ...env, EARSHOT_ALLOWED_HOSTS: 'music.example.com' } });
      await t.createUser({ username: 'alice' });
      const post = (origin: string) =>
        t!.app.inject({
          method: 'POST',
          url: '/api/v1/playlists',
          remoteAddress: PROXY,
          headers: { 'remote-user': 'alice', origin, host: 'music.example.com' },
          payload: { name: 'Road trip' },
        });
      expect((await post('https://evil.example')).statusCode).toBe(403);
      expect((await post('https://music.example.com')).statusCode).toBe(201);
    });

    it('Tailscale: Tailscale-User-Login signs in by login (an email) and Tailscale-User-Name names the account', async () => {
      t = await startTestServer({
        env: { EARSHOT_TRUSTED_PROXIES: '127.0.0.1', EARSHOT_AUTH_PROXY_HEADER: 'Tailscale-User-Login' },
      });
      await t.createUser({ username: 'owner', role: 'admin' });
      await t.earshot.accounts.registration.setMode('open', 'test');
      const res = await me(t, '127.0.0.1', {
        'tailscale-user-login': 'dana@example.com',
        'tailscale-user-name': 'Dana',
      });
      expect(res.json()).toMatchObject({ username: 'dana@example.com', role: 'user' });
      const dana = await t.earshot.accounts.users.getByName('dana@example.com');
      expect(dana).toMatchObject({ email: 'dana@example.com', display_name: 'Dana' });
    });

    it('EARSHOT_ADMIN_USERS makes a named account admin when it signs in', async () => {
      t = await startTestServer({ env: { ...env, EARSHOT_ADMIN_USERS: 'erin' } });
      await t.createUser({ username: 'erin' });
      expect((await me(t, PROXY, { 'remote-user': 'erin' })).json()).toMatchObject({ role: 'admin' });
    });
  });
});
