/**
 * Identity figures (issue 15 targets), on a real Earshot (in-process, real port, real SQLite):
 *
 *   - Cloudflare Access: verifying a `Cf-Access-Jwt-Assertion` with the JWKS cached (target
 *     ≤ 1 ms per request), and a whole `GET /api/v1/me` signed in by it;
 *   - SSO: the server time an OIDC sign-in adds beyond the provider's own (target ≤ 50 ms):
 *     `/auth/oidc/login` plus `/auth/oidc/callback`, minus the time spent waiting for the provider
 *     (oauth2-mock-server on loopback; every outbound fetch to it is timed and subtracted).
 *
 *   npx tsx bench/identity.bench.ts [--runs 200]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { OAuth2Server } from 'oauth2-mock-server';
import { CfAccessVerifier } from '../server/src/accounts/cf-access.js';
import { startTestServer } from '../server/src/test/harness.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 200;

function stats(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const f = (v: number) => (v < 1 ? v.toFixed(3) : v.toFixed(1));
  return `median ${f(q(0.5))} ms · p95 ${f(q(0.95))} ms · min ${f(s[0])} · max ${f(s.at(-1)!)} (n=${s.length})`;
}

async function accessFigures() {
  const key = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'RS256' };
  const jwks = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const team = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ email: 'alice@example.com', sub: 'cf-alice' })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(team)
    .setAudience('aud-tag')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(key.privateKey);

  const verifier = new CfAccessVerifier({ teamDomain: team, audiences: ['aud-tag'] });
  if (!(await verifier.verify(token))) throw new Error('the bench token does not verify');
  const verify: number[] = [];
  for (let i = 0; i < runs * 5; i++) {
    const t0 = performance.now();
    await verifier.verify(token);
    verify.push(performance.now() - t0);
  }
  console.log(`Access JWT verification, JWKS cached: ${stats(verify)}`);

  const t = await startTestServer({
    env: {
      EARSHOT_TRUSTED_PROXIES: '127.0.0.1',
      EARSHOT_CF_ACCESS_TEAM_DOMAIN: team,
      EARSHOT_CF_ACCESS_AUD: 'aud-tag',
    },
  });
  const alice = await t.createUser({ username: 'alice' });
  await t.earshot.database.db
    .updateTable('users')
    .set({ email: 'alice@example.com' })
    .where('id', '=', alice.id)
    .execute();
  const cookie = await t.authHeaders(alice);
  const viaAccess: number[] = [];
  const viaCookie: number[] = [];
  for (let i = 0; i < runs + 20; i++) {
    let t0 = performance.now();
    const a = await t.app.inject({ url: '/api/v1/me', headers: { 'cf-access-jwt-assertion': token } });
    const accessMs = performance.now() - t0;
    t0 = performance.now();
    const c = await t.app.inject({ url: '/api/v1/me', headers: cookie });
    const cookieMs = performance.now() - t0;
    if (a.statusCode !== 200 || c.statusCode !== 200) throw new Error(`unexpected ${a.statusCode}/${c.statusCode}`);
    if (i >= 20) {
      viaAccess.push(accessMs);
      viaCookie.push(cookieMs);
    }
  }
  console.log(`GET /api/v1/me signed in by Access (inject): ${stats(viaAccess)}`);
  console.log(`GET /api/v1/me signed in by cookie (inject): ${stats(viaCookie)}`);
  await t.close();
  await new Promise((resolve) => jwks.close(resolve));
}

async function ssoFigures() {
  const provider = new OAuth2Server();
  await provider.issuer.keys.generate('RS256');
  await provider.start(0, '127.0.0.1');
  const issuer = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  provider.issuer.url = issuer;
  let n = 0;
  provider.service.on('beforeTokenSigning', (token) => {
    Object.assign(token.payload, { sub: `user-${n}`, email: `user${n}@example.com`, email_verified: true });
  });

  // Time spent waiting for the provider, from inside Earshot (openid-client uses global fetch).
  let providerMs = 0;
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(issuer)) return realFetch(input, init);
    const t0 = performance.now();
    try {
      return await realFetch(input, init);
    } finally {
      providerMs += performance.now() - t0;
    }
  };

  const t = await startTestServer({
    env: {
      EARSHOT_OIDC_ISSUER: issuer,
      EARSHOT_OIDC_ALLOW_INSECURE: 'true',
      EARSHOT_OIDC_CLIENT_ID: 'bench',
      EARSHOT_OIDC_CLIENT_SECRET: 'bench-secret',
      EARSHOT_REGISTRATION: 'open',
    },
  });
  await t.createUser({ username: 'owner', role: 'admin' });
  const base = await t.listen();
  const server: number[] = [];
  const firstSignIn: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < Math.min(runs, 100) + 5; i++) {
    n = i % 2 === 0 ? i : i - 1; // every other sign-in is a returning user (identity found by sub)
    providerMs = 0;
    let t0 = performance.now();
    const login = await realFetch(`${base}/auth/oidc/login?provider=oidc`, { redirect: 'manual' });
    let ours = performance.now() - t0;
    const browser = login.headers.getSetCookie()[0].split(';')[0];
    const back = await realFetch(login.headers.get('location')!, { redirect: 'manual' }); // the provider's page
    t0 = performance.now();
    const cb = await realFetch(back.headers.get('location')!, { redirect: 'manual', headers: { cookie: browser } });
    ours += performance.now() - t0;
    if (cb.status !== 303 || cb.headers.get('location') !== '/')
      throw new Error(`sign-in failed: ${cb.headers.get('location')}`);
    if (i < 5) continue; // discovery and JIT warm-up
    total.push(ours);
    (i % 2 === 0 ? firstSignIn : server).push(ours - providerMs);
  }
  console.log(`SSO sign-in, Earshot's own time (login + callback − provider), returning user: ${stats(server)}`);
  console.log(`SSO sign-in, Earshot's own time, first sign-in (account created):   ${stats(firstSignIn)}`);
  console.log(`SSO sign-in, login + callback wall time incl. provider round trips:  ${stats(total)}`);
  globalThis.fetch = realFetch;
  await t.close();
  await provider.stop();
}

await accessFigures();
await ssoFigures();
