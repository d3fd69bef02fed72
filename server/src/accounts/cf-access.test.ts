/**
 * Cloudflare Access (SECURITY.md case 8): assertions signed by a locally generated RSA key whose
 * JWKS is served by a loopback HTTP server standing in for `<team>/cdn-cgi/access/certs`.
 * The team domain *is* that loopback server, so the issuer check is the real one.
 */
import { forEachServerEngine } from '../test/engines.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/harness.js';

const AUD = 'a1b2c3-earshot-app-aud';
let jwks: Server;
let team: string;
let fetches = 0;
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let key: KeyPair;
let other: KeyPair;

beforeAll(async () => {
  key = await generateKeyPair('RS256', { extractable: true });
  other = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(key.publicKey)), kid: 'team-key-1', alg: 'RS256', use: 'sig' };
  jwks = createServer((req, res) => {
    if (req.url !== '/cdn-cgi/access/certs') {
      res.writeHead(404).end();
      return;
    }
    fetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  team = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => jwks.close(resolve));
});

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function start(env: Record<string, string> = {}) {
  t = await startTestServer({
    env: {
      EARSHOT_TRUSTED_PROXIES: '127.0.0.1',
      EARSHOT_CF_ACCESS_TEAM_DOMAIN: team,
      EARSHOT_CF_ACCESS_AUD: AUD,
      ...env,
    },
  });
  return t;
}

const now = () => Math.floor(Date.now() / 1000);

function claims(extra: JWTPayload = {}): JWTPayload {
  return {
    iss: team,
    aud: [AUD],
    sub: 'cf-user-1',
    email: 'alice@example.com',
    iat: now(),
    exp: now() + 600,
    ...extra,
  };
}

async function sign(payload: JWTPayload, options: { kid?: string; signer?: KeyPair } = {}) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'team-key-1' })
    .sign((options.signer ?? key).privateKey);
}

/** A token with any header, signature part given (for alg none / HS256 forgeries). */
function forge(header: object, payload: JWTPayload, signature: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64(header)}.${b64(payload)}.${signature}`;
}

async function me(server: TestServer, assertion: string, remoteAddress = '127.0.0.1') {
  return server.app.inject({ url: '/api/v1/me', remoteAddress, headers: { 'cf-access-jwt-assertion': assertion } });
}

async function withEmail(server: TestServer, username: string, email: string) {
  const user = await server.createUser({ username });
  await server.earshot.database.db.updateTable('users').set({ email }).where('id', '=', user.id).execute();
  return user;
}

forEachServerEngine(() => {
  describe('Cloudflare Access assertion', () => {
    it('a valid assertion from the trusted tunnel signs in the user with that email (never as admin)', async () => {
      const server = await start();
      await withEmail(server, 'alice', 'Alice@Example.com');
      const res = await me(server, await sign(claims()));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ username: 'alice', role: 'user' });
      // Linked by (team, sub): the next request finds the identity directly.
      const links = await server.earshot.accounts.identities.listForUser(res.json().id);
      expect(links).toMatchObject([{ provider: 'cf-access', issuer: team, subject: 'cf-user-1' }]);
      // The same valid token from a peer that is not the tunnel is ignored.
      expect((await me(server, await sign(claims()), '198.51.100.7')).statusCode).toBe(401);
    });

    it('creates accounts only as the registration mode allows; EARSHOT_ADMIN_EMAILS names admins', async () => {
      const server = await start({ EARSHOT_ADMIN_EMAILS: 'boss@example.com' });
      await server.createUser({ username: 'owner', role: 'admin' });
      const newcomer = await sign(claims({ sub: 'cf-2', email: 'new@example.com' }));
      expect((await me(server, newcomer)).statusCode).toBe(401); // closed
      await server.earshot.accounts.registration.setMode('open', 'test');
      expect((await me(server, newcomer)).json()).toMatchObject({ username: 'new', role: 'user' });
      const boss = await me(server, await sign(claims({ sub: 'cf-3', email: 'boss@example.com' })));
      expect(boss.json()).toMatchObject({ username: 'boss', role: 'admin' });
    });

    it('SECURITY.md case 8: wrong aud/iss, expired, not yet valid, alg none, HS256 with the public key → 401', async () => {
      const server = await start({ EARSHOT_REGISTRATION: 'open' });
      await withEmail(server, 'alice', 'alice@example.com');
      const pem = await exportSPKI(key.publicKey);
      const hs256WithPublicKey = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', kid: 'team-key-1' })
        .sign(new TextEncoder().encode(pem));
      const cases: Record<string, string> = {
        'wrong aud': await sign(claims({ aud: ['some-other-app'] })),
        'wrong iss': await sign(claims({ iss: 'https://evil.cloudflareaccess.com' })),
        expired: await sign(claims({ iat: now() - 7200, exp: now() - 3600 })),
        'not yet valid': await sign(claims({ nbf: now() + 3600 })),
        'alg none': forge({ alg: 'none', kid: 'team-key-1' }, claims(), ''),
        'HS256 signed with the public key': hs256WithPublicKey,
        'signed by another key with our kid': await sign(claims(), { signer: other }),
        'tampered payload': (await sign(claims())).replace(
          /\.[^.]+\./,
          `.${Buffer.from(JSON.stringify(claims({ email: 'root@example.com' }))).toString('base64url')}.`,
        ),
        junk: 'not-a-jwt',
        'three junk parts': 'a.b.c',
      };
      for (const [name, token] of Object.entries(cases)) {
        expect((await me(server, token)).statusCode, name).toBe(401);
      }
      // Nothing was created or linked by any of them.
      expect((await server.earshot.accounts.users.list()).map((u) => u.username)).toEqual(['alice']);
      // And the good one still works (the failures were for the right reasons).
      expect((await me(server, await sign(claims()))).statusCode).toBe(200);
    });

    it('a service token (no email) falls back to normal auth: an API key or cookie still decides', async () => {
      const server = await start();
      const alice = await server.createUser({ username: 'alice' });
      const service = await sign(claims({ email: undefined, sub: '', common_name: 'svc.access' }));
      expect((await me(server, service)).statusCode).toBe(401);
      const withCookie = await server.app.inject({
        url: '/api/v1/me',
        remoteAddress: '127.0.0.1',
        headers: { 'cf-access-jwt-assertion': service, ...(await server.authHeaders(alice)) },
      });
      expect(withCookie.json()).toMatchObject({ username: 'alice' });
    });

    it('an unknown-kid flood does not become a flood of JWKS fetches (bounded refetch)', async () => {
      const server = await start();
      await withEmail(server, 'alice', 'alice@example.com');
      expect((await me(server, await sign(claims()))).statusCode).toBe(200);
      const before = fetches;
      const flood = await Promise.all(
        Array.from({ length: 100 }, async (_, i) =>
          me(server, await sign(claims(), { kid: `unknown-${i}`, signer: other })),
        ),
      );
      expect(flood.every((r) => r.statusCode === 401)).toBe(true);
      for (let i = 0; i < 50; i++) await me(server, await sign(claims(), { kid: `later-${i}`, signer: other }));
      // At most one refetch for the whole flood (then a 30 s cool-down), however many kids were made up.
      expect(fetches - before).toBeLessThanOrEqual(1);
      // Valid tokens keep working from the cached keys during the flood.
      expect((await me(server, await sign(claims()))).statusCode).toBe(200);
    });
  });
});
