/**
 * A music folder whose files the server cannot read: the home page says why the library is empty
 * ("N files could not be read", with a link to the list in Admin) instead of only "Your library is empty".
 */
import { mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launch } from './support/browser.js';
import { scratchDir } from './support/build.js';
import { type RunningServer, startServer } from './support/server.js';

const PASSWORD = 'e2e-correct-horse-battery';
let dir: string;
let server: RunningServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  dir = scratchDir('unreadable-');
  const lib = join(dir, 'library');
  mkdirSync(join(lib, 'albums', 'broken_album'), { recursive: true });
  for (const name of ['track1.opus', 'track2.opus', 'song.ogg'])
    writeFileSync(join(lib, 'albums', 'broken_album', name), 'this is not an audio file\n'.repeat(50));
  const past = new Date(Date.now() - 10 * 60_000); // settled long ago: the scanner reads them now
  for (const f of readdirSync(lib, { recursive: true, withFileTypes: true }))
    if (f.isFile()) utimesSync(join(f.parentPath, f.name), past, past);
  server = await startServer(dir, { EARSHOT_MUSIC_DIR: lib, EARSHOT_SCAN_ON_START: 'true' });
  browser = await launch();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('home page with rejected files', () => {
  it('says how many files could not be read and links admins to the list', async () => {
    await expect.poll(() => server.log.some((l) => l.includes('could not be read')), { timeout: 60_000 }).toBe(true);
    await page.goto(`${server.base}/setup?token=${server.setupToken}`);
    await page.getByLabel('Admin username').fill('owner');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    const note = page.locator('[data-testid="unreadable-note"]');
    await note.waitFor({ timeout: 15_000 });
    expect(await note.innerText()).toMatch(/3 files in the music folder could not be read/);
    expect(await page.getByRole('heading', { name: 'Your library is empty' }).count()).toBe(0);
    await note.getByRole('link', { name: 'See the list in Admin' }).click();
    await page.waitForURL(/\/admin/);
    await expect
      .poll(() => page.locator('[data-testid="scan-errors"]').innerText(), { timeout: 15_000 })
      .toContain('albums/broken_album/track1.opus');
  });
});
