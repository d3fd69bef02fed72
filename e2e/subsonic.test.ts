/**
 * Settings → Phone apps (Subsonic) in Chromium against the real built server: create an API key
 * and an app password, read the secret shown once (with its QR code), use both from a Subsonic
 * request, then revoke them from the page.
 */
import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launch } from './support/browser.js';
import { scratchDir } from './support/build.js';
import { type RunningServer, startServer } from './support/server.js';

const PASSWORD = 'subsonic-e2e-password-1';
let dir: string;
let server: RunningServer;
let browser: Browser;
let page: Page;
const cspViolations: string[] = [];

async function ping(query: Record<string, string>): Promise<{ status: string; error?: { code: number } }> {
  const q = new URLSearchParams({ v: '1.16.1', c: 'e2e', f: 'json', ...query });
  const res = await fetch(`${server.base}/rest/ping.view?${q}`);
  return (await res.json())['subsonic-response'];
}

beforeAll(async () => {
  dir = scratchDir('subsonic-');
  server = await startServer(dir, { EARSHOT_SOURCES_YOUTUBE: 'false', EARSHOT_SOURCES_SOUNDCLOUD: 'false' });
  const setup = await fetch(`${server.base}/auth/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: server.setupToken, username: 'phoneuser', password: PASSWORD }),
  });
  expect(setup.status).toBe(201);
  browser = await launch();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Subsonic access in Settings', () => {
  it('creates an API key shown once with a QR code; a Subsonic request then works; revoking stops it', async () => {
    await page.goto(`${server.base}/login`);
    await page.getByLabel('Username').fill('phoneuser');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('h1.page-title').waitFor();
    await page.goto(`${server.base}/settings`);
    await page.getByRole('heading', { name: 'Phone apps (Subsonic)' }).waitFor();

    await page.getByLabel('Label for a new API key').fill('Symfonium');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const secret = page.locator('[data-testid="subsonic-secret"]');
    await secret.waitFor();
    const key = (await secret.innerText()).trim();
    expect(key).toMatch(/^[A-Za-z0-9]{40}$/);
    const qr = page.getByRole('img', { name: /QR code with the server address/ });
    await qr.waitFor();
    // The QR image really rendered (a broken data: URL would have no natural size).
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    expect(await ping({ apiKey: key })).toMatchObject({ status: 'ok' });
    await page.getByRole('button', { name: 'Done' }).click();
    const row = page.locator('.subsonic li', { hasText: 'Symfonium' });
    await row.waitFor();
    expect(await row.innerText()).toContain(`…${key.slice(-4)}`);

    await page.getByLabel('Label for a new app password').fill('DSub');
    await page.getByRole('button', { name: 'Create app password' }).click();
    const password = (await page.locator('[data-testid="subsonic-secret"]').innerText()).trim();
    expect(await ping({ u: 'phoneuser', p: password })).toMatchObject({ status: 'ok' });
    expect(await ping({ u: 'phoneuser', p: PASSWORD })).toMatchObject({ error: { code: 40 } });

    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => page.locator('.subsonic li', { hasText: 'Symfonium' }).count()).toBe(0);
    expect(await ping({ apiKey: key })).toMatchObject({ error: { code: 44 } });
    expect(cspViolations).toEqual([]);
  });
});
