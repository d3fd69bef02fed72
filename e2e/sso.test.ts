/**
 * "Sign in with <provider>" in Chromium against the real built server and a real OpenID Connect
 * provider (oauth2-mock-server) on loopback: the button on the sign-in page, the round trip
 * through the provider, the signed-in app, Settings → sign-in methods and device names, and a
 * refusal shown in words on the sign-in page.
 */
import type { AddressInfo } from 'node:net';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OAuth2Server } from 'oauth2-mock-server';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launch } from './support/browser.js';
import { scratchDir } from './support/build.js';
import { type RunningServer, startServer } from './support/server.js';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');

let dir: string;
let provider: OAuth2Server;
let server: RunningServer;
let browser: Browser;
let page: Page;
let claims: Record<string, unknown> = {};

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = scratchDir('sso-');
  provider = new OAuth2Server();
  await provider.issuer.keys.generate('RS256');
  await provider.start(0, '127.0.0.1');
  const issuer = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  provider.issuer.url = issuer;
  provider.service.on('beforeTokenSigning', (token) => {
    Object.assign(token.payload, claims);
  });
  server = await startServer(dir, {
    EARSHOT_SCAN_ON_START: 'false',
    EARSHOT_REGISTRATION: 'open',
    EARSHOT_OIDC_ISSUER: issuer,
    EARSHOT_OIDC_ALLOW_INSECURE: 'true',
    EARSHOT_OIDC_CLIENT_ID: 'earshot-e2e',
    EARSHOT_OIDC_CLIENT_SECRET: 'e2e-client-secret',
    EARSHOT_OIDC_NAME: 'Family SSO',
  });
  // First-run setup with the link from the log (the owner has a password and an email).
  const setup = await fetch(`${server.base}/auth/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: server.setupToken, username: 'owner', password: 'owner-password-123' }),
  });
  expect(setup.status).toBe(201);
  browser = await launch();
  page = await browser.context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await provider?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Sign in with an OpenID Connect provider', () => {
  it('shows the provider button, signs in through the provider and lands in the app', async () => {
    claims = { sub: 'family-kid', email: 'kid@family.example', email_verified: true, preferred_username: 'kid' };
    await page.goto(`${server.base}/login`);
    const button = page.getByRole('link', { name: 'Sign in with Family SSO' });
    await button.waitFor();
    await shot('sso-login');
    await button.click();
    // Back from the provider with a session: the app shell replaces the sign-in page.
    await page.waitForURL((url) => url.pathname === '/');
    await page.getByRole('navigation').first().waitFor();
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
    expect(me).toMatchObject({ username: 'kid', role: 'user' });
  });

  it('Settings lists the linked provider and this browser by name', async () => {
    await page.goto(`${server.base}/settings`);
    const linked = page.getByTestId('linked-identities');
    await linked.getByText('Family SSO — kid@family.example').waitFor();
    await page.getByText('Your account has no password').waitFor();
    await page.getByText(/Chrome \(headless\) on Linux — this device/).waitFor();
    await shot('sso-settings');
  });

  it('a refusal comes back to the sign-in page in words (unverified email of an existing account)', async () => {
    await browser.context.clearCookies();
    // Another login at the provider claims kid's address without the provider vouching for it.
    claims = { sub: 'someone-else', email: 'kid@family.example', email_verified: false };
    await page.goto(`${server.base}/login`);
    await page.getByRole('link', { name: 'Sign in with Family SSO' }).click();
    await page.waitForURL((url) => url.pathname === '/login' && url.searchParams.get('error') === 'email_not_verified');
    await page.getByTestId('sso-error').getByText('has not confirmed your email address').waitFor();
    await shot('sso-refused');
  });
});
