/**
 * Managing the library in Chromium against the real built server: the admin screen (unreadable
 * files with reasons, background caching jobs, per-user link permission), M3U import with its
 * matched/unmatched summary, playlist reordering by mouse drag, touch drag and the move buttons,
 * remote thumbnails through the server's proxy under the strict CSP, and cover images shown
 * offline from the service worker's cache.
 */
import { mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Origin, startOrigin } from '../server/src/test/origin.js';
import { makeAudio, makeImage } from '../server/src/test/audio.js';
import { type Browser, launch } from './support/browser.js';
import { scratchDir } from './support/build.js';
import { type RunningServer, startServer } from './support/server.js';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const PASSWORD = 'manage-e2e-password-1';

let dir: string;
let server: RunningServer;
let origin: Origin;
let browser: Browser;
let page: Page;
const consoleLog: string[] = [];
const cspViolations: string[] = [];

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

/** JSON from the API with the page's session cookie. */
async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const res = await fetch(path, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.status === 204 ? null : res.json();
    },
    { method, path, body },
  ) as Promise<T>;
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = scratchDir('manage-');
  const lib = join(dir, 'library');
  const songs = [
    ['Alpha', 'One', 'Coastline'],
    ['Alpha', 'Two', 'Harbour Lights'],
    ['Alpha', 'Three', 'Tidewater'],
    ['Beta', 'Four', 'Northern Road'],
  ] as const;
  for (const [i, [artist, , title]] of songs.entries()) {
    await makeAudio(join(lib, artist, 'Waves', `0${i + 1} ${title}.mp3`), {
      seconds: 8,
      frequency: 300 + i * 60,
      tags: { title, artist: `${artist} Band`, album: artist === 'Beta' ? 'Roads' : 'Waves', track: String(i + 1) },
    });
  }
  // A file the scanner cannot read: the admin screen lists it with the reason.
  mkdirSync(join(lib, 'Broken'), { recursive: true });
  writeFileSync(join(lib, 'Broken', 'not-really.mp3'), 'this is not audio at all');
  const past = new Date(Date.now() - 10 * 60_000);
  for (const f of readdirSync(lib, { recursive: true, withFileTypes: true })) {
    if (f.isFile()) utimesSync(join(f.parentPath, f.name), past, past);
  }

  const remote = await makeAudio(join(dir, 'origin', 'job-song.mp3'), { seconds: 6, frequency: 880 });
  const cover = await makeImage(join(dir, 'origin', 'thumb.jpg'), { width: 480, height: 360, color: 'green' });
  origin = await startOrigin();
  origin.set('/job-song.mp3', { kind: 'file', path: remote });
  origin.set('/thumb.jpg', { kind: 'file', path: cover, contentType: 'image/jpeg' });
  // A web page with a media element and a poster: yt-dlp's generic extractor reports the poster
  // as the result's thumbnail, which the search screen shows through the server's proxy.
  const poster = await makeImage(join(dir, 'origin', 'poster.jpg'), { width: 200, height: 200, color: 'purple' });
  origin.set('/poster.jpg', { kind: 'file', path: poster, contentType: 'image/jpeg' });
  const pageHtml = join(dir, 'origin', 'poster-page.html');
  writeFileSync(
    pageHtml,
    '<!doctype html><html><head><title>Poster Song</title></head><body><video src="/job-song.mp3" poster="/poster.jpg"></video></body></html>',
  );
  origin.set('/poster-page.html', { kind: 'file', path: pageHtml, contentType: 'text/html; charset=utf-8' });

  server = await startServer(dir, {
    EARSHOT_MUSIC_DIR: lib,
    EARSHOT_SCAN_ON_START: 'true',
    EARSHOT_SOURCES_YOUTUBE: 'false',
    EARSHOT_SOURCES_SOUNDCLOUD: 'false',
    EARSHOT_SOURCES_URL: 'true',
    EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES: String(origin.port),
    // yt-dlp start-up alone can pass the 3 s default on a loaded 2-core machine.
    EARSHOT_PROVIDER_TIMEOUT_MS: '30000',
  });
  const setup = await fetch(`${server.base}/auth/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: server.setupToken, username: 'keeper', password: PASSWORD }),
  });
  expect(setup.status).toBe(201);

  browser = await launch();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'warning' || m.type() === 'error') consoleLog.push(`${m.type()}: ${m.text()}`);
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await origin?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('managing the library in Chromium', () => {
  it('signs in once the start-up scan has read the library', async () => {
    await page.goto(`${server.base}/login`);
    await page.getByLabel('Username').fill('keeper');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('h1.page-title').innerText(), { timeout: 15_000 }).toMatch(/keeper$/);
    await expect
      .poll(async () => (await api<{ total: number }>('GET', '/api/v1/tracks')).total, { timeout: 60_000 })
      .toBe(4);
  });

  it('admin: lists unreadable files with reasons and sets who may play links', async () => {
    await page.goto(`${server.base}/admin`);
    const errors = page.locator('[data-testid="scan-errors"]');
    await errors.getByRole('table', { name: /Unreadable files/ }).waitFor({ timeout: 15_000 });
    await expect.poll(() => errors.locator('tbody tr').count()).toBe(1);
    const row = errors.locator('tbody tr').first();
    expect(await row.locator('.path').innerText()).toBe('Broken/not-really.mp3');
    expect((await row.locator('td').nth(1).innerText()).trim().length).toBeGreaterThan(3);

    // A new user cannot play links until an admin allows it; the setting survives a reload.
    await page.getByLabel('New username').fill('guest');
    await page.getByLabel("New user's password").fill('guest-password-1');
    await page.getByRole('button', { name: 'Add user' }).click();
    const perm = page.getByRole('checkbox', { name: 'guest may add and play links (URLs)' });
    await expect.poll(() => perm.isEnabled(), { timeout: 10_000 }).toBe(true);
    expect(await perm.isChecked()).toBe(false);
    await perm.check();
    await page.getByText('guest may now play links').waitFor();
    await page.reload();
    await expect.poll(() => perm.isEnabled(), { timeout: 10_000 }).toBe(true);
    expect(await perm.isChecked()).toBe(true);
    const users = await api<{ items: { id: string; username: string }[] }>('GET', '/api/v1/admin/users');
    const guest = users.items.find((u) => u.username === 'guest')!;
    expect(await api('GET', `/api/v1/admin/users/${guest.id}/source-permissions`)).toEqual({ canPlayUrls: true });
    await shot('20-admin-errors-permissions');
  });

  it('admin: shows the offline-caching job of a playlist kept on the server', async () => {
    const track = await api<{ id: string; title: string }>('POST', '/api/v1/remote/tracks', {
      url: `${origin.base}/job-song.mp3`,
    });
    const pl = await api<{ id: string }>('POST', '/api/v1/playlists', { name: 'Kept offline' });
    await api('POST', `/api/v1/playlists/${pl.id}/tracks`, { trackIds: [track.id] });
    await api('PATCH', `/api/v1/playlists/${pl.id}`, { isOffline: true });

    await page.goto(`${server.base}/admin`);
    const jobs = page.locator('[data-testid="jobs"]');
    const item = jobs.getByRole('list', { name: 'Background jobs' }).getByRole('listitem');
    await expect.poll(() => item.count(), { timeout: 30_000 }).toBe(1);
    // The screen refreshes itself while the job is queued or running.
    await expect.poll(() => item.first().locator('.badge').innerText(), { timeout: 60_000 }).toBe('DONE');
    await expect.poll(() => item.first().innerText()).toContain(`Cache ${track.title}`);
    expect(origin.hits('/job-song.mp3')).toBeGreaterThan(0);
    await jobs.getByLabel('Show jobs').selectOption('failed');
    await jobs.getByLabel('Show jobs').selectOption('');
    await item.first().waitFor();
    await jobs.screenshot({ path: join(ARTIFACTS, '21-admin-jobs.png') });
    await jobs.getByLabel('Show jobs').selectOption('failed');
    await jobs.getByText('No failed jobs.').waitFor();
  });

  it('imports an M3U8 file and summarises matched and unmatched entries', async () => {
    const m3u = [
      '#EXTM3U',
      '#PLAYLIST:Imported Mix',
      '#EXTINF:8,Alpha Band - Tidewater',
      'Alpha/Waves/03 Tidewater.mp3',
      '#EXTINF:8,Beta Band - Northern Road',
      '/somewhere/else/Northern Road.mp3',
      '#EXTINF:200,Nobody - Missing Song',
      'Nowhere/missing-song.mp3',
      '',
    ].join('\n');
    await page.goto(`${server.base}/playlists`);
    await page.getByRole('button', { name: 'Import M3U' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import an M3U playlist' });
    await dialog.getByLabel('M3U or M3U8 file').setInputFiles({
      name: 'road-mix.m3u8',
      mimeType: 'audio/x-mpegurl',
      buffer: Buffer.from(m3u),
    });
    await dialog.getByText('road-mix.m3u8 · 3 entries').waitFor();
    await dialog.getByRole('button', { name: 'Import' }).click();

    const summary = page.getByRole('dialog', { name: 'Playlist imported' }).getByTestId('import-summary');
    await summary.waitFor();
    expect(await summary.getByRole('status').innerText()).toMatch(/2 of 3 entries matched .* “Imported Mix”/);
    const unmatched = summary.getByRole('list', { name: 'Entries that matched nothing' }).getByRole('listitem');
    expect(await unmatched.allInnerTexts()).toEqual([expect.stringMatching(/line 8 .*Nowhere\/missing-song\.mp3/)]);
    await shot('22-m3u-import');
    await page.getByRole('button', { name: 'Open playlist' }).click();
    await expect.poll(() => page.locator('[data-testid="playlist-name"]').innerText()).toBe('Imported Mix');
    const titles = page.getByRole('list', { name: 'Songs in Imported Mix' }).locator('.title');
    await expect.poll(() => titles.allInnerTexts()).toEqual(['Tidewater', 'Northern Road']);
  });

  it('reorders a playlist by mouse drag, touch drag and the move buttons', async () => {
    const ids = (await api<{ items: { id: string; title: string }[] }>('GET', '/api/v1/tracks?sort=title')).items;
    const byTitle = (t: string) => ids.find((x) => x.title === t)!.id;
    const pl = await api<{ id: string }>('POST', '/api/v1/playlists', { name: 'Reorder me' });
    await api('POST', `/api/v1/playlists/${pl.id}/tracks`, {
      trackIds: ['Coastline', 'Harbour Lights', 'Tidewater', 'Northern Road'].map(byTitle),
    });
    await page.goto(`${server.base}/playlist/${pl.id}`);
    const list = page.getByRole('list', { name: 'Songs in Reorder me' });
    const titles = () => list.locator('.title').allInnerTexts();
    const serverOrder = async () =>
      (await api<{ entries: { track: { title: string } }[] }>('GET', `/api/v1/playlists/${pl.id}`)).entries.map(
        (e) => e.track.title,
      );
    await expect.poll(titles).toEqual(['Coastline', 'Harbour Lights', 'Tidewater', 'Northern Road']);
    const centre = async (name: RegExp | string) => {
      const box = (await page.getByRole('button', { name }).boundingBox())!;
      return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    };
    const rowHeight = (await list.getByRole('listitem').first().boundingBox())!.height;

    // Mouse: drag Northern Road's handle up past two rows.
    const from = await centre(/^Reorder Northern Road/);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    for (let step = 1; step <= 10; step++) await page.mouse.move(from.x, from.y - (rowHeight * 2 * step) / 10);
    await shot('23-playlist-dragging');
    await page.mouse.up();
    await expect.poll(titles).toEqual(['Coastline', 'Northern Road', 'Harbour Lights', 'Tidewater']);
    await expect.poll(serverOrder).toEqual(['Coastline', 'Northern Road', 'Harbour Lights', 'Tidewater']);

    // Touch: drag Coastline's handle down one row (real touch input through the DevTools protocol).
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 1 });
    const start = await centre(/^Reorder Coastline/);
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', y: number) =>
      cdp.send('Input.dispatchTouchEvent', {
        type,
        touchPoints: type === 'touchEnd' ? [] : [{ x: start.x, y, id: 1 }],
      });
    await touch('touchStart', start.y);
    for (let step = 1; step <= 8; step++) await touch('touchMove', start.y + (rowHeight * 1.1 * step) / 8);
    await touch('touchEnd', start.y + rowHeight * 1.1);
    await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: false });
    await cdp.detach();
    await expect.poll(titles).toEqual(['Northern Road', 'Coastline', 'Harbour Lights', 'Tidewater']);
    await expect.poll(serverOrder).toEqual(['Northern Road', 'Coastline', 'Harbour Lights', 'Tidewater']);

    // Keyboard: the move buttons (Enter), keeping focus on the moved row's button.
    await page.getByRole('button', { name: 'Move Tidewater up' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(titles).toEqual(['Northern Road', 'Coastline', 'Tidewater', 'Harbour Lights']);
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label')))
      .toBe('Move Tidewater up');
    await page.keyboard.press('Enter');
    await expect.poll(titles).toEqual(['Northern Road', 'Tidewater', 'Coastline', 'Harbour Lights']);
    expect(await page.getByRole('button', { name: 'Move Northern Road up' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Move Northern Road down' }).click();
    await expect.poll(titles).toEqual(['Tidewater', 'Northern Road', 'Coastline', 'Harbour Lights']);
    await page.reload();
    await expect
      .poll(titles, { timeout: 10_000 })
      .toEqual(['Tidewater', 'Northern Road', 'Coastline', 'Harbour Lights']);
  });

  it('fits a 390×844 phone screen: admin, playlists and a playlist (move items in the ••• menu)', async () => {
    const phone = await browser.context.newPage();
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      for (const path of ['/admin', '/playlists']) {
        await phone.goto(`${server.base}${path}`);
        await phone.locator('h1.page-title').waitFor();
        expect(await phone.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(390);
      }
      await phone
        .getByRole('link', { name: /^Reorder me/ })
        .first()
        .click();
      const list = phone.getByRole('list', { name: 'Songs in Reorder me' });
      await list.locator('.title').first().waitFor();
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      expect(await phone.getByRole('button', { name: 'Move Coastline up' }).isVisible()).toBe(false);
      await phone.getByRole('button', { name: 'More actions for Coastline' }).click();
      await phone.getByRole('menuitem', { name: 'Move up' }).click();
      await expect
        .poll(() => list.locator('.title').allInnerTexts())
        .toEqual(['Tidewater', 'Coastline', 'Northern Road', 'Harbour Lights']);
      await phone.screenshot({ path: join(ARTIFACTS, '25-phone-playlist.png') });
    } finally {
      await phone.close();
    }
  });

  it('shows the thumbnail of a remote search result through the server proxy', async () => {
    await page.goto(`${server.base}/search?q=${encodeURIComponent(`${origin.base}/poster-page.html`)}`);
    const remote = page.getByRole('region', { name: 'Results from Link' });
    await remote.waitFor({ timeout: 60_000 });
    const img = remote.locator('.thumb img').first();
    await img.waitFor({ timeout: 30_000 });
    expect(await img.getAttribute('src')).toBe(
      `/api/v1/remote/thumbnail?url=${encodeURIComponent(`${origin.base}/poster.jpg`)}&size=80`,
    );
    await expect
      .poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 15_000 })
      .toBe(80);
    expect(origin.hits('/poster.jpg')).toBe(1);
    await remote.screenshot({ path: join(ARTIFACTS, '26-search-thumbnail.png') });
  });

  it('shows a remote thumbnail through the server proxy under the strict CSP', async () => {
    const thumbUrl = `${origin.base}/thumb.jpg`;
    const loaded = await page.evaluate(async (url) => {
      const img = new Image();
      img.src = `/api/v1/remote/thumbnail?url=${encodeURIComponent(url)}&size=80`;
      document.body.append(img);
      await img.decode();
      const size = { w: img.naturalWidth, h: img.naturalHeight };
      img.remove();
      return size;
    }, thumbUrl);
    expect(loaded).toEqual({ w: 80, h: 60 });
    expect(origin.hits('/thumb.jpg')).toBe(1);
    // The same image straight from the remote host is blocked by img-src 'self'.
    const direct = await page.evaluate(async (url) => {
      const img = new Image();
      img.src = url;
      return img.decode().then(
        () => 'loaded',
        () => 'blocked',
      );
    }, thumbUrl);
    expect(direct).toBe('blocked');
    expect(origin.hits('/thumb.jpg')).toBe(1);
  });

  it('shows album covers offline from the service worker cache', async () => {
    await page.goto(`${server.base}/albums`);
    await page.getByRole('link', { name: 'Waves by Alpha Band' }).waitFor({ timeout: 15_000 });
    await expect
      .poll(
        () =>
          page.evaluate(async () => {
            const reg = await navigator.serviceWorker.getRegistration();
            return `${reg?.active?.state ?? 'none'}${navigator.serviceWorker.controller ? ', controlling' : ''}`;
          }),
        { timeout: 30_000, message: `service worker; console:\n${consoleLog.join('\n')}` },
      )
      .toBe('activated, controlling');
    // Seen once while the worker controls the page, then kept in its bounded cover cache.
    await page.reload();
    const coverLoaded = (name: string) =>
      page
        .getByRole('link', { name })
        .locator('img')
        .evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)
        .catch(() => false);
    await expect.poll(() => coverLoaded('Waves by Alpha Band'), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => coverLoaded('Roads by Beta Band'), { timeout: 15_000 }).toBe(true);
    await expect
      .poll(() => page.evaluate(async () => (await (await caches.open('earshot-covers-v1')).keys()).map((r) => r.url)))
      .toEqual(expect.arrayContaining([expect.stringMatching(/\/api\/v1\/(albums\/[^/]+\/cover|artwork\/)/)]));

    // Covers carry `max-age`, so the browser's HTTP cache would show them too: empty it, so only
    // the service worker's cover cache can answer once the server is gone.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.clearBrowserCache');
    await cdp.detach();
    await server.stop();
    await page.goto(`${server.base}/albums`);
    await page.getByText("You're offline.").waitFor({ timeout: 15_000 });
    await page.getByRole('link', { name: 'Waves by Alpha Band' }).waitFor({ timeout: 15_000 });
    await expect.poll(() => coverLoaded('Waves by Alpha Band'), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => coverLoaded('Roads by Beta Band'), { timeout: 15_000 }).toBe(true);
    await shot('24-offline-covers');
    expect(cspViolations.filter((v) => !v.includes(origin.base))).toEqual([]);
  });
});
