/**
 * OpenID Connect sign-in against a real provider (oauth2-mock-server on loopback) through real
 * HTTP: our server listens on 127.0.0.1, the "browser" is fetch() following each redirect by hand
 * and carrying cookies, exactly as a browser would. SECURITY.md case 9 is the second describe.
 */
import type { AddressInfo } from 'node:net';
import { OAuth2Server } from 'oauth2-mock-server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { forEachServerEngine } from '../test/engines.js';

let provider: OAuth2Server;
let issuer: string;
/** Claims the provider puts in the next tokens (the mock's `sub` is replaced by ours). */
let claims: Record<string, unknown> = {};

beforeAll(async () => {
  provider = new OAuth2Server();
  await provider.issuer.keys.generate('RS256');
  await provider.start(0, '127.0.0.1');
  issuer = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  provider.issuer.url = issuer;
  provider.service.on('beforeTokenSigning', (token) => {
    Object.assign(token.payload, claims);
  });
});
afterAll(async () => {
  await provider.stop();
});

let t: TestServer | undefined;
let base = '';
let owner: TestUser;
beforeEach(() => {
  claims = {};
});
afterEach(async () => {
  provider.service.removeAllListeners('beforeAuthorizeRedirect');
  await t?.close();
  t = undefined;
});

async function start(env: Record<string, string> = {}) {
  t = await startTestServer({
    env: {
      EARSHOT_OIDC_ISSUER: issuer,
      EARSHOT_OIDC_ALLOW_INSECURE: 'true',
      EARSHOT_OIDC_CLIENT_ID: 'earshot',
      EARSHOT_OIDC_CLIENT_SECRET: 'client-secret-for-tests',
      EARSHOT_OIDC_NAME: 'Authentik',
      EARSHOT_OIDC_ADMIN_GROUPS: 'earshot-admins',
      ...env,
    },
  });
  base = await t.listen();
  // Set up (an administrator exists), so sign-ins follow the registration mode.
  owner = await t.createUser({ username: 'owner', role: 'admin' });
  return t;
}

function cookiesOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

interface Flow {
  /** Where our callback sent the browser. */
  location: string;
  /** The session cookie header, when one was set. */
  session?: string;
  /** The provider's redirect back to us (to replay it). */
  callbackUrl: string;
  browserCookie: string;
}

/** Clicks "Sign in with Authentik": our login → provider authorize → our callback. */
async function signIn(query = '', headers: Record<string, string> = {}): Promise<Flow> {
  const login = await fetch(`${base}/auth/oidc/login?provider=oidc${query}`, { redirect: 'manual', headers });
  expect(login.status).toBe(302);
  const browserCookie = `earshot_oidc=${cookiesOf(login).earshot_oidc}`;
  const authorize = new URL(login.headers.get('location')!);
  expect(authorize.origin).toBe(issuer);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorize.searchParams.get('state')).toBeTruthy();
  expect(authorize.searchParams.get('nonce')).toBeTruthy();
  const back = await fetch(authorize, { redirect: 'manual' });
  const callbackUrl = back.headers.get('location')!;
  expect(callbackUrl.startsWith(`${base}/auth/oidc/callback?`)).toBe(true);
  return {
    ...(await callback(callbackUrl, `${browserCookie}${headers.cookie ? `; ${headers.cookie}` : ''}`)),
    browserCookie,
  };
}

async function callback(url: string, cookie?: string) {
  const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  expect(res.status).toBe(303);
  const session = cookiesOf(res).earshot_session;
  return {
    location: res.headers.get('location')!,
    session: session ? `earshot_session=${session}` : undefined,
    callbackUrl: url,
  };
}

async function me(session: string | undefined) {
  const res = await fetch(`${base}/api/v1/me`, { headers: session ? { cookie: session } : {} });
  return { status: res.status, body: res.status === 200 ? await res.json() : null };
}

async function withEmail(server: TestServer, username: string, email: string) {
  const user = await server.createUser({ username });
  await server.earshot.database.db.updateTable('users').set({ email }).where('id', '=', user.id).execute();
  return user;
}

forEachServerEngine(() => {
  describe('OIDC sign-in', () => {
    it('authorization code + PKCE + state + nonce: links the verified email, then finds the user by (issuer, sub)', async () => {
      const server = await start();
      await withEmail(server, 'alice', 'alice@example.com');
      claims = { sub: 'ak-alice', email: 'alice@example.com', email_verified: true, name: 'Alice' };
      const flow = await signIn('&returnTo=%2Falbums%3Fsort%3Dyear');
      expect(flow.location).toBe('/albums?sort=year');
      expect((await me(flow.session)).body).toMatchObject({ username: 'alice', role: 'user' });
      // Later the provider reports another email: the identity, not the email, decides.
      claims = { sub: 'ak-alice', email: 'alice.new@example.com', email_verified: true };
      const again = await signIn();
      expect(again.location).toBe('/');
      expect((await me(again.session)).body).toMatchObject({ username: 'alice' });
      const links = await fetch(`${base}/api/v1/me/identities`, { headers: { cookie: again.session! } });
      expect(await links.json()).toMatchObject({
        hasPassword: true,
        items: [{ provider: 'oidc:oidc', providerName: 'Authentik', email: 'alice.new@example.com' }],
      });
    });

    it('registration modes: closed refuses newcomers, invite accepts an invite link, open creates SSO-only accounts', async () => {
      const server = await start();
      claims = { sub: 'ak-bob', email: 'bob@example.com', email_verified: true, preferred_username: 'bob' };
      expect((await signIn()).location).toBe('/login?error=not_invited');

      await server.earshot.accounts.registration.setMode('invite', owner.id);
      const invite = await server.earshot.accounts.registration.createInvite(owner.id, {});
      expect((await signIn('&invite=wrong-token-000000')).location).toBe('/login?error=not_invited');
      const invited = await signIn(`&invite=${invite.token}`);
      expect((await me(invited.session)).body).toMatchObject({ username: 'bob', role: 'user' });
      claims = { sub: 'ak-bob2', email: 'bob2@example.com', email_verified: true, preferred_username: 'bob' };
      expect((await signIn(`&invite=${invite.token}`)).location).toBe('/login?error=not_invited'); // used

      await server.earshot.accounts.registration.setMode('open', owner.id);
      const opened = await signIn();
      expect((await me(opened.session)).body).toMatchObject({ username: 'bob-2' });
      expect((await server.earshot.accounts.users.getByName('bob-2')).password_hash).toBeNull();
    });

    it('admin group claims and EARSHOT_ADMIN_EMAILS map to the admin role; the allow-list keeps strangers out', async () => {
      await start({
        EARSHOT_REGISTRATION: 'open',
        EARSHOT_OIDC_ALLOWED_EMAILS: '@family.example, friend@example.com',
        EARSHOT_ADMIN_EMAILS: 'mum@family.example',
      });
      claims = { sub: 's1', email: 'stranger@example.com', email_verified: true };
      expect((await signIn()).location).toBe('/login?error=not_allowed');
      claims = { sub: 's2', email: 'kid@family.example', email_verified: false };
      expect((await signIn()).location).toBe('/login?error=not_allowed'); // the allow-list needs a verified email
      claims = { sub: 's3', email: 'friend@example.com', email_verified: true };
      expect((await me((await signIn()).session)).body).toMatchObject({ username: 'friend', role: 'user' });
      claims = { sub: 's4', email: 'kid@family.example', email_verified: true, groups: ['family', 'earshot-admins'] };
      expect((await me((await signIn()).session)).body).toMatchObject({ username: 'kid', role: 'admin' });
      claims = { sub: 's5', email: 'mum@family.example', email_verified: true };
      expect((await me((await signIn()).session)).body).toMatchObject({ username: 'mum', role: 'admin' });
    });

    it('the provider refusing (access_denied) ends on the sign-in page with a reason, no session', async () => {
      await start({ EARSHOT_REGISTRATION: 'open' });
      provider.service.once('beforeAuthorizeRedirect', ({ url }) => {
        url.searchParams.delete('code');
        url.searchParams.set('error', 'access_denied');
      });
      const flow = await signIn();
      expect(flow.location).toBe('/login?error=provider_error');
      expect(flow.session).toBeUndefined();
    });

    it('GET /auth/providers lists one button per provider (Google preset included) with readable error words', async () => {
      await start({ EARSHOT_GOOGLE_CLIENT_ID: 'g-id.apps.googleusercontent.com', EARSHOT_GOOGLE_CLIENT_SECRET: 'g' });
      const res = await fetch(`${base}/auth/providers`);
      const body = (await res.json()) as { providers: unknown[]; errors: Record<string, string> };
      expect(body.providers).toEqual([
        { id: 'oidc', name: 'Authentik', kind: 'oidc', loginUrl: '/auth/oidc/login?provider=oidc' },
        { id: 'google', name: 'Google', kind: 'google', loginUrl: '/auth/oidc/login?provider=google' },
      ]);
      expect(body.errors.email_not_verified).toMatch(/not confirmed your email/);
    });

    it('Settings → link a provider to a password account, list it, and unlink it', async () => {
      const server = await start();
      const bob = await server.createUser({ username: 'bob' });
      const cookie = (await server.authHeaders(bob)).cookie;
      claims = { sub: 'ak-bob', email: 'bob@elsewhere.example', email_verified: false };
      // A link started from another site (a forged navigation) is refused before the provider.
      const forged = await fetch(`${base}/auth/oidc/login?provider=oidc&link=true`, {
        redirect: 'manual',
        headers: { cookie, 'sec-fetch-site': 'cross-site' },
      });
      expect(forged.headers.get('location')).toBe('/settings?identityError=invalid_state');
      const flow = await signIn('&link=true', { cookie });
      expect(flow.location).toBe('/settings');
      const list = (await (await fetch(`${base}/api/v1/me/identities`, { headers: { cookie } })).json()) as {
        items: { id: string }[];
      };
      expect(list.items).toHaveLength(1);
      // Now the provider alone signs bob in (keyed by sub; the unverified email played no part).
      expect((await me((await signIn()).session)).body).toMatchObject({ username: 'bob' });
      const del = await fetch(`${base}/api/v1/me/identities/${list.items[0].id}`, {
        method: 'DELETE',
        headers: { cookie },
      });
      expect(del.status).toBe(204);
      expect((await signIn()).location).toBe('/login?error=not_invited');
    });
  });

  describe('first run by single sign-on', () => {
    it('before any account exists only an address in EARSHOT_ADMIN_EMAILS can create one, as admin', async () => {
      t = await startTestServer({
        env: {
          EARSHOT_OIDC_ISSUER: issuer,
          EARSHOT_OIDC_ALLOW_INSECURE: 'true',
          EARSHOT_OIDC_CLIENT_ID: 'earshot',
          EARSHOT_REGISTRATION: 'open',
          EARSHOT_ADMIN_EMAILS: 'owner@family.example',
        },
      });
      base = await t.listen();
      claims = { sub: 'early-bird', email: 'someone@example.com', email_verified: true };
      expect((await signIn()).location).toBe('/login?error=setup_required');
      claims = { sub: 'owner-sub', email: 'owner@family.example', email_verified: false };
      expect((await signIn()).location).toBe('/login?error=setup_required'); // unverified: not the configured admin
      claims = { sub: 'owner-sub', email: 'owner@family.example', email_verified: true };
      expect((await me((await signIn()).session)).body).toMatchObject({ username: 'owner', role: 'admin' });
      expect(await t.earshot.accounts.registration.setupRequired()).toBe(false);
    });
  });

  describe('SECURITY.md case 9: refused OIDC callbacks', () => {
    it('missing state, replayed state and a state from another browser are refused', async () => {
      await start({ EARSHOT_REGISTRATION: 'open' });
      claims = { sub: 'ak-1', email: 'one@example.com', email_verified: true };
      const ok = await signIn();
      expect((await me(ok.session)).status).toBe(200);
      // Replay of the same callback (same browser cookie): the state was used up.
      const replay = await callback(ok.callbackUrl, ok.browserCookie);
      expect(replay).toMatchObject({ location: '/login?error=invalid_state', session: undefined });
      // Missing state.
      const noState = new URL(ok.callbackUrl);
      noState.searchParams.delete('state');
      expect((await callback(noState.href, ok.browserCookie)).location).toBe('/login?error=invalid_state');
      // A fresh, valid state delivered to a browser that did not start the sign-in (login CSRF).
      const login = await fetch(`${base}/auth/oidc/login?provider=oidc`, { redirect: 'manual' });
      const back = await fetch(login.headers.get('location')!, { redirect: 'manual' });
      const foreign = await callback(back.headers.get('location')!, 'earshot_oidc=someone-elses-browser');
      expect(foreign).toMatchObject({ location: '/login?error=invalid_state', session: undefined });
    });

    it('a wrong nonce in the ID token is refused', async () => {
      await start({ EARSHOT_REGISTRATION: 'open' });
      claims = { sub: 'ak-2', email: 'two@example.com', email_verified: true, nonce: 'not-the-nonce-we-sent' };
      const flow = await signIn();
      expect(flow).toMatchObject({ location: '/login?error=provider_error', session: undefined });
      expect(await t!.earshot.accounts.users.count()).toBe(1); // the owner only
      // The same flow with the right nonce succeeds: the nonce was the only problem.
      claims = { sub: 'ak-2', email: 'two@example.com', email_verified: true };
      expect((await me((await signIn()).session)).body).toMatchObject({ username: 'two' });
    });

    it('an unverified email matching a user is not linked; an email linked to another sub is refused', async () => {
      const server = await start({ EARSHOT_REGISTRATION: 'open' });
      await withEmail(server, 'alice', 'alice@example.com');
      claims = { sub: 'attacker', email: 'ALICE@example.com', email_verified: false };
      expect(await signIn()).toMatchObject({ location: '/login?error=email_not_verified', session: undefined });
      claims = { sub: 'ak-alice', email: 'alice@example.com', email_verified: true };
      expect((await me((await signIn()).session)).body).toMatchObject({ username: 'alice' });
      claims = { sub: 'another-sub', email: 'alice@example.com', email_verified: true };
      expect(await signIn()).toMatchObject({ location: '/login?error=email_linked_elsewhere', session: undefined });
      expect((await server.earshot.accounts.users.list()).map((u) => u.username)).toEqual(['alice', 'owner']);
    });

    it('an SSO-only account cannot use the password form, with an empty or any password', async () => {
      const server = await start({ EARSHOT_REGISTRATION: 'open' });
      claims = { sub: 'ak-3', email: 'sso@example.com', email_verified: true, preferred_username: 'sso' };
      expect((await me((await signIn()).session)).body).toMatchObject({ username: 'sso' });
      const login = (password: string) =>
        server.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'sso', password } });
      expect((await login('')).statusCode).toBe(400);
      expect((await login('anything at all')).statusCode).toBe(401);
      expect((await login('null')).statusCode).toBe(401);
    });

    it('returnTo that leaves the site (javascript:, //evil.com, https://evil.com) ends at /', async () => {
      await start({ EARSHOT_REGISTRATION: 'open' });
      claims = { sub: 'ak-4', email: 'four@example.com', email_verified: true };
      for (const evil of ['javascript:alert(1)', '//evil.com', 'https://evil.com/x', '/\\evil.com']) {
        expect((await signIn(`&returnTo=${encodeURIComponent(evil)}`)).location).toBe('/');
      }
    });
  });
});
