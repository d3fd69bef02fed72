/**
 * Round two of the web app, in Chromium against the real built server: the phone player (full-
 * screen Now Playing with synced lyrics, the Library tab and account menu), the position surviving
 * reloads, and one test per bug a new user hit: disc headers, no made-up track numbers, the
 * artist grid, artist songs, a one-track genre, duplicate-in-playlist confirmation, toasts not
 * stacking, the tab title, the album Play/Pause button, an old yt-dlp reported as old, the invite
 * Copy button and sign-up (no blank page), a wrong current password (no sign-out), a non-admin
 * on /admin (no API calls), an admin resetting a password, and the offline banner clearing.
 */
import { mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio } from '../server/src/test/audio.js';
import { type Browser, launch } from './support/browser.js';
import { scratchDir } from './support/build.js';
import { type RunningServer, startServer } from './support/server.js';
import { until } from './support/wait.js';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const PASSWORD = 'e2e-phone-password-1';
const shot = (p: Page, name: string) => p.screenshot({ path: join(ARTIFACTS, `phone-${name}.png`) });

let dir: string;
let server: RunningServer;
let browser: Browser;
let page: Page;
let adminCookie = '';

async function call(method: string, path: string, body?: unknown, cookie = adminCookie) {
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers: { cookie, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null };
}

async function albumId(name: string): Promise<string> {
  const { json } = await call('GET', '/api/v1/albums?limit=100');
  return json.items.find((a: { name: string }) => a.name === name).id;
}

async function login(p: Page, username: string, password: string) {
  await p.goto(`${server.base}/login`);
  await p.getByLabel('Username').fill(username);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => p.locator('h1.page-title').first().innerText(), { timeout: 15_000 }).toContain(username);
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = scratchDir('phone-');
  const lib = join(dir, 'library');
  const song = (path: string, seconds: number, tags: Record<string, string>) =>
    makeAudio(join(lib, path), { seconds, frequency: 440, tags });
  await song('Disc Band/Two Discs/1-01.mp3', 6, {
    title: 'Disc One Song',
    artist: 'Disc Band',
    album: 'Two Discs',
    track: '1',
    disc: '1/2',
    genre: 'Rock',
  });
  await song('Disc Band/Two Discs/1-02.mp3', 6, {
    title: 'Disc One Other',
    artist: 'Disc Band',
    album: 'Two Discs',
    track: '2',
    disc: '1/2',
    genre: 'Rock',
  });
  await song('Disc Band/Two Discs/2-01.mp3', 6, {
    title: 'Disc Two Song',
    artist: 'Disc Band',
    album: 'Two Discs',
    track: '1',
    disc: '2/2',
    genre: 'Rock',
  });
  await song('Loose/No Numbers/a.mp3', 6, { title: 'Untagged A', artist: 'Loose', album: 'No Numbers' });
  await song('Loose/No Numbers/b.mp3', 6, { title: 'Untagged B', artist: 'Loose', album: 'No Numbers' });
  await song('Lyric Singer/Karaoke/01.mp3', 60, {
    title: 'Sing Along',
    artist: 'Lyric Singer',
    album: 'Karaoke',
    track: '1',
    genre: 'Polka',
  });
  await song('Lyric Singer/Karaoke/02.mp3', 6, {
    title: 'Plain Song',
    artist: 'Lyric Singer',
    album: 'Karaoke',
    track: '2',
    genre: 'Rock',
  });
  writeFileSync(
    join(lib, 'Lyric Singer/Karaoke/01.lrc'),
    '[ar:Lyric Singer]\n[ti:Sing Along]\n[00:00.00]Line at zero\n[00:05.00]Line at five\n[00:10.00]Line at ten\n[00:20.00]Line at twenty\n[00:30.00]Line at thirty\n',
  );
  const past = new Date(Date.now() - 10 * 60_000);
  for (const f of readdirSync(lib, { recursive: true, withFileTypes: true }))
    if (f.isFile()) utimesSync(join(f.parentPath, f.name), past, past);

  server = await startServer(dir, {
    EARSHOT_MUSIC_DIR: lib,
    EARSHOT_SCAN_ON_START: 'true',
    // YouTube on, with no internet here: the search section must fail politely and back off.
    EARSHOT_SOURCES_YOUTUBE: 'true',
    EARSHOT_SOURCES_SOUNDCLOUD: 'false',
    EARSHOT_PROVIDER_TIMEOUT_MS: '30000',
  });
  const setup = await fetch(`${server.base}/auth/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: server.setupToken, username: 'owner', password: PASSWORD }),
  });
  expect(setup.status).toBe(201);
  adminCookie = (setup.headers.get('set-cookie') ?? '').split(';')[0]!;
  expect(
    (await call('POST', '/api/v1/admin/users', { username: 'kid', password: PASSWORD, role: 'user' })).status,
  ).toBe(201);
  await until(
    async () => (await call('GET', '/api/v1/tracks?limit=1')).json.total,
    (n) => n === 7,
    'the scan',
  );

  browser = await launch();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on('dialog', (d) => void d.dismiss());
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('web app round two', () => {
  it('signs in', async () => {
    await login(page, 'owner', PASSWORD);
  });

  it('shows disc headers and no made-up track numbers', async () => {
    await page.goto(`${server.base}/album/${await albumId('Two Discs')}`);
    await expect.poll(() => page.locator('h2.disc').allInnerTexts(), { timeout: 15_000 }).toEqual(['Disc 1', 'Disc 2']);
    const disc = (n: number) => page.getByRole('list', { name: `Disc ${n} of Two Discs` });
    await expect.poll(() => disc(1).locator('.title').allInnerTexts()).toEqual(['Disc One Song', 'Disc One Other']);
    await expect.poll(() => disc(2).locator('.title').allInnerTexts()).toEqual(['Disc Two Song']);
    expect(await disc(2).locator('.num').allInnerTexts()).toEqual(['1']);
    await shot(page, 'discs');

    await page.goto(`${server.base}/album/${await albumId('No Numbers')}`);
    const list = page.getByRole('list', { name: 'Tracks of No Numbers' });
    await expect.poll(() => list.locator('.title').count(), { timeout: 15_000 }).toBe(2);
    expect(await page.locator('h2.disc').count()).toBe(0);
    expect(await list.locator('.num').allInnerTexts()).toEqual(['–', '–']);
  });

  it('album Play turns into Pause, and the tab title names the track', async () => {
    await page.goto(`${server.base}/album/${await albumId('Two Discs')}`);
    await page.getByRole('button', { name: 'Play Two Discs' }).click();
    await page.getByRole('button', { name: 'Pause Two Discs' }).waitFor({ timeout: 15_000 });
    await expect.poll(() => page.title()).toBe('▶ Disc One Song · Disc Band — Earshot');
    await page.getByRole('button', { name: 'Pause Two Discs' }).click();
    await page.getByRole('button', { name: 'Play Two Discs' }).waitFor();
    await expect.poll(() => page.title()).toBe('Disc One Song · Disc Band — Earshot');
  });

  it('lays artist cards out without overlap, with round pictures, and lists an artist’s songs', async () => {
    await page.goto(`${server.base}/artists`);
    const cards = page.locator('.artist-card');
    await expect.poll(() => cards.count(), { timeout: 15_000 }).toBe(3);
    const boxes = await cards.evaluateAll((els) =>
      els.map((el) => {
        const r = el.getBoundingClientRect();
        const pic = el.querySelector('.cover')!.getBoundingClientRect();
        return {
          top: r.top,
          bottom: r.bottom,
          left: r.left,
          right: r.right,
          w: pic.width,
          h: pic.height,
          picBottom: pic.bottom,
        };
      }),
    );
    for (const b of boxes) {
      expect(Math.abs(b.w - b.h), 'round picture: square box').toBeLessThan(1);
      expect(b.picBottom).toBeLessThanOrEqual(b.bottom);
    }
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i]!, boxes[j]!];
        const overlap = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        expect(overlap, `cards ${i} and ${j} overlap`).toBe(false);
      }
    await shot(page, 'artists');

    await page.getByRole('link', { name: /Lyric Singer/ }).click();
    const songs = page.getByRole('list', { name: 'Songs by Lyric Singer' });
    await expect
      .poll(() => songs.locator('.title').allInnerTexts(), { timeout: 15_000 })
      .toEqual(['Sing Along', 'Plain Song']);
  });

  it('a genre with one song shows that song, not the whole album', async () => {
    await page.goto(`${server.base}/genre/Polka`);
    const songs = page.getByRole('list', { name: 'Songs in Polka' });
    await expect.poll(() => songs.locator('.title').allInnerTexts(), { timeout: 15_000 }).toEqual(['Sing Along']);
    await shot(page, 'genre');
  });

  it('asks before adding a track a playlist already has; confirmations replace each other', async () => {
    const tracks = (await call('GET', '/api/v1/tracks?limit=100')).json.items as { id: string; title: string }[];
    const sing = tracks.find((t) => t.title === 'Sing Along')!;
    const pl = (await call('POST', '/api/v1/playlists', { name: 'Favourites' })).json;
    expect((await call('POST', `/api/v1/playlists/${pl.id}/tracks`, { trackIds: [sing.id] })).status).toBeLessThan(300);
    const count = async () => (await call('GET', `/api/v1/playlists/${pl.id}`)).json.entries.length;

    await page.goto(`${server.base}/album/${await albumId('Karaoke')}`);
    const addTo = async () => {
      await page.getByRole('button', { name: 'More actions for Sing Along' }).click();
      await page.getByRole('menuitem', { name: 'Add to playlist…' }).click();
      await page
        .getByRole('dialog')
        .getByRole('button', { name: /^Favourites/ })
        .click();
    };
    await addTo();
    const confirm = page.getByRole('dialog', { name: 'Already in Favourites' });
    await confirm.waitFor();
    await expect.poll(() => confirm.innerText()).toContain('“Sing Along” is already in this playlist.');
    await shot(page, 'duplicate');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect(await count()).toBe(1);
    await addTo();
    await confirm.getByRole('button', { name: 'Add anyway' }).click();
    await expect.poll(count).toBe(2);

    // Two confirmations in a row: one toast on screen, the latest.
    await page.getByRole('button', { name: 'Add Karaoke to the queue' }).click();
    await page.getByRole('button', { name: 'Add Karaoke to the queue' }).click();
    await page.getByText('Added 2 tracks to the queue').first().waitFor();
    expect(await page.locator('.toast').count()).toBe(1);
  });

  it('reports an old yt-dlp as old and lets the admin copy an invite link', async () => {
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
    await page.goto(`${server.base}/admin`);
    const ytdlp = page.locator('dt', { hasText: 'yt-dlp' }).locator('xpath=following-sibling::dd[1]');
    await ytdlp.waitFor({ timeout: 15_000 });
    // Debian 12's /usr/bin/yt-dlp is 2023.03.04: years old by now.
    await expect.poll(() => ytdlp.innerText()).toMatch(/^OLD 2023\.03\.04\s+yt-dlp 2023\.03\.04 is \d+ years old/);

    await page.getByRole('button', { name: 'Create invite link' }).click();
    const link = page.getByLabel('New invite link');
    await link.waitFor();
    await page.getByRole('button', { name: 'Copy invite link' }).click();
    await page.getByRole('button', { name: 'Copy invite link' }).filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await link.inputValue());
    await shot(page, 'admin-invite');
  });

  it('an invited person signs up and lands on the app (not a blank page); a wrong current password keeps them signed in; /admin says it is for administrators without calling the API', async () => {
    expect((await call('PUT', '/api/v1/admin/registration', { mode: 'invite' })).status).toBe(200);
    const created = await call('POST', '/api/v1/admin/invites', { expiresInHours: 24 });
    expect(created.status).toBe(201);
    const invite = created.json;
    const guest = await launch({ width: 390, height: 844, isMobile: true });
    try {
      const p = guest.context.pages()[0] ?? (await guest.context.newPage());
      await p.goto(new URL(invite.url, server.base).href);
      await shot(p, 'invite-form');
      await p.getByLabel('Username').fill('cousin');
      await p.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await p.getByLabel('Repeat password').fill(PASSWORD);
      await p.getByRole('button', { name: 'Create account' }).click();
      await expect.poll(() => p.locator('h1.page-title').first().innerText(), { timeout: 15_000 }).toContain('cousin');
      expect(new URL(p.url()).pathname).toBe('/');
      await shot(p, 'after-invite');

      await p.goto(`${server.base}/settings`);
      await p.getByLabel('Current password').fill('not-my-password');
      await p.getByLabel('New password', { exact: true }).fill('another-password-2');
      await p.getByLabel('Repeat new password').fill('another-password-2');
      await p.getByRole('button', { name: 'Change password' }).click();
      await expect.poll(() => p.getByRole('alert').allInnerTexts()).toContain('The current password is wrong.');
      expect(await p.getByText('Your session ended').count()).toBe(0);
      await p.reload();
      await p.getByLabel('Current password').waitFor();

      const adminCalls: string[] = [];
      p.on('request', (r) => {
        const path = new URL(r.url()).pathname;
        if (/^\/(api\/v1\/(admin|scan)|system\/storage)/.test(path)) adminCalls.push(path);
      });
      await p.goto(`${server.base}/admin`);
      await p.getByRole('heading', { name: 'Only an administrator can see this' }).waitFor();
      await shot(p, 'not-admin');
      expect(adminCalls).toEqual([]);
    } finally {
      await guest.close();
    }
  });

  it('an admin resets another user’s password', async () => {
    await page.goto(`${server.base}/admin`);
    await page.getByRole('button', { name: 'Reset password for kid' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reset password for kid' });
    await dialog.getByLabel('New password', { exact: true }).fill('kid-new-password-9');
    await dialog.getByLabel('Repeat new password').fill('kid-new-password-9');
    await dialog.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('New password set for kid').waitFor();
    const attempt = (password: string) =>
      fetch(`${server.base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'kid', password }),
      }).then((r) => r.status);
    expect(await attempt('kid-new-password-9')).toBe(200);
    expect(await attempt(PASSWORD)).toBe(401);
  });

  it('on a phone: Library reaches every screen, the account menu has Settings/Admin/Sign out', async () => {
    const phone = await browser.context.newPage();
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(`${server.base}/`);
      const nav = phone.getByRole('navigation', { name: 'Main' }).last();
      await nav.getByRole('link', { name: 'Library' }).click();
      await phone.getByRole('heading', { name: 'Library' }).waitFor();
      for (const name of ['Artists', 'Albums', 'Tracks', 'Genres', 'Playlists', 'History'])
        expect(await phone.getByRole('main').getByRole('link', { name, exact: true }).isVisible(), name).toBe(true);
      await phone.getByRole('button', { name: 'Account menu' }).click();
      const menu = phone.getByRole('menu', { name: 'Account' });
      for (const name of ['Settings', 'Admin', 'Sign out'])
        expect(await menu.getByRole('menuitem', { name }).isVisible(), name).toBe(true);
      await shot(phone, 'library-menu');
      await menu.getByRole('menuitem', { name: 'Admin' }).click();
      await phone.getByRole('heading', { name: 'Users' }).waitFor({ timeout: 15_000 });
      await nav.getByRole('link', { name: 'Library' }).click();
      await phone.getByRole('main').getByRole('link', { name: 'Genres', exact: true }).click();
      await phone.getByRole('link', { name: /^Polka/ }).waitFor();
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    } finally {
      await phone.close();
    }
  });

  it('on a phone: the mini player opens Now Playing with controls and synced lyrics; the position survives reloads', async () => {
    const phone = await browser.context.newPage();
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(`${server.base}/album/${await albumId('Karaoke')}`);
      await phone.getByRole('button', { name: 'Sing Along', exact: true }).click();
      await phone.getByRole('button', { name: 'Open Now Playing: Sing Along' }).click();
      const np = phone.getByRole('dialog', { name: 'Now playing' });
      await np.waitFor();
      for (const name of ['Seek', 'Volume'])
        expect(await np.getByRole('slider', { name }).isVisible(), name).toBe(true);
      for (const name of ['Shuffle', 'Previous', 'Pause', 'Next', 'Repeat: off', 'Like Sing Along', 'Open queue'])
        expect(await np.getByRole('button', { name, exact: true }).isVisible(), name).toBe(true);
      await shot(phone, 'now-playing');

      await np.getByRole('button', { name: 'Lyrics' }).click();
      const lyrics = np.getByRole('region', { name: 'Lyrics' });
      await lyrics.waitFor();
      await np.getByRole('slider', { name: 'Seek' }).fill('11');
      await expect.poll(() => lyrics.locator('.line.active').innerText(), { timeout: 15_000 }).toBe('Line at ten');
      // Tapping a line jumps there.
      await lyrics.getByRole('button', { name: 'Line at twenty' }).click();
      await expect.poll(() => lyrics.locator('.line.active').innerText(), { timeout: 15_000 }).toBe('Line at twenty');
      await shot(phone, 'lyrics');

      await np.getByRole('button', { name: 'Pause', exact: true }).click();
      await np.getByRole('button', { name: 'Play', exact: true }).waitFor();
      await np.getByRole('slider', { name: 'Seek' }).fill('33');
      const position = () =>
        phone.evaluate(() => {
          const el = [...document.querySelectorAll('audio')].find((a) => a.src);
          return el ? el.currentTime : -1;
        });
      await expect.poll(position).toBeGreaterThan(32.5);
      for (const round of [1, 2]) {
        await phone.reload();
        await expect.poll(position, { timeout: 15_000, message: `reload ${round}` }).toBeGreaterThan(32.5);
        expect(await position()).toBeLessThan(34);
        await expect.poll(() => phone.title()).toBe('Sing Along · Lyric Singer — Earshot');
      }
    } finally {
      await phone.close();
    }
  });

  it('a provider that cannot be reached gets a friendly message and is not asked again on each keystroke', async () => {
    const phone = await browser.context.newPage();
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      const searches: string[] = [];
      phone.on('request', (r) => {
        if (new URL(r.url()).pathname === '/api/v1/search/stream') searches.push(r.url());
      });
      await phone.goto(`${server.base}/search`);
      await phone.locator('#search-input').fill('sing');
      const yt = phone.getByRole('region', { name: 'Results from YouTube' });
      await yt.waitFor({ timeout: 60_000 });
      const message = yt.locator('p.subtle');
      await expect
        .poll(() => message.innerText(), { timeout: 60_000 })
        .toMatch(
          /^YouTube (can't be reached|took too long|turned the search down|search didn't work).*Trying again in \d+ s\.$/,
        );
      expect(await yt.innerText()).not.toMatch(/fetch failed|could not be resolved|Errno/);
      expect(await yt.locator('.badge').innerText()).toMatch(/^(Unavailable|Slow)$/);
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await shot(phone, 'remote-failed');
      // The next keystrokes answer at once from the back-off, still saying when it retries.
      await phone.locator('#search-input').fill('sing al');
      await expect.poll(() => searches.some((u) => u.includes('sing+al') || u.includes('sing%20al'))).toBe(true);
      await expect.poll(() => message.innerText(), { timeout: 15_000 }).toMatch(/Trying again in \d+ s\.$/);
      expect(await phone.getByRole('list', { name: 'Songs in your library' }).innerText()).toContain('Sing Along');
    } finally {
      await phone.close();
    }
  });

  it('Lighthouse-style checks at phone size: every control named, no layout shift on the main screens', async () => {
    const phone = await browser.context.newPage();
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.addInitScript(() => {
        const w = window as unknown as { cls: number };
        w.cls = 0;
        new PerformanceObserver((list) => {
          for (const e of list.getEntries() as (PerformanceEntry & { value: number; hadRecentInput: boolean })[])
            if (!e.hadRecentInput) w.cls += e.value;
        }).observe({ type: 'layout-shift', buffered: true });
      });
      const screens: [string, string][] = [
        ['/', 'h1.page-title'],
        ['/library', 'h1.page-title'],
        ['/albums', '.card-item'],
        [`/album/${await albumId('Two Discs')}`, '.tracklist .title'],
        ['/artists', '.artist-card'],
        ['/genres', '.tile'],
        ['/genre/Polka', '.tracklist .title'],
        ['/tracks', '.tracklist .title'],
        ['/settings', '#theme-h'],
      ];
      for (const [path, ready] of screens) {
        await phone.goto(`${server.base}${path}`);
        await phone.locator(ready).first().waitFor({ timeout: 15_000 });
        // Let late images and data settle before reading the shift total.
        await phone.waitForLoadState('networkidle');
        const cls = await phone.evaluate(() => (window as unknown as { cls: number }).cls);
        expect(cls, `layout shift on ${path}`).toBeLessThan(0.1);
        const unnamed = await phone.evaluate(() => {
          const out: string[] = [];
          for (const el of document.querySelectorAll<HTMLElement>('button, a[href], input, select, textarea')) {
            if (el.getClientRects().length === 0) continue; // not rendered
            const by = el.getAttribute('aria-labelledby');
            const name =
              el.getAttribute('aria-label') ||
              (by && document.getElementById(by)?.textContent?.trim()) ||
              el.textContent?.trim() ||
              el.getAttribute('title') ||
              (el as HTMLInputElement).labels?.[0]?.textContent?.trim() ||
              el.querySelector('img[alt]:not([alt=""])')?.getAttribute('alt');
            if (!name) out.push(el.outerHTML.slice(0, 160));
          }
          return out;
        });
        expect(unnamed, `unnamed controls on ${path}`).toEqual([]);
      }
      await phone.getByRole('button', { name: /^Open Now Playing: / }).click();
      const np = phone.getByRole('dialog', { name: 'Now playing' });
      await np.waitFor();
      const unnamedNp = await np.evaluate((root) =>
        [...root.querySelectorAll<HTMLElement>('button, a[href], input')]
          .filter((el) => !(el.getAttribute('aria-label') || el.textContent?.trim()))
          .map((el) => el.outerHTML.slice(0, 160)),
      );
      expect(unnamedNp).toEqual([]);
    } finally {
      await phone.close();
    }
  });

  it('theme: chosen in Settings, saved to the account; the manifest and the share page follow it; share dates are local', async () => {
    await page.goto(`${server.base}/settings`);
    const manifest = () =>
      page.evaluate(() => document.querySelector<HTMLLinkElement>('link[rel="manifest"]')!.getAttribute('href'));
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.getByRole('radio', { name: /^Dark/ }).check();
    await expect.poll(background).toBe('rgb(18, 18, 18)');
    expect(await manifest()).toBe('/manifest-dark.webmanifest');
    await expect.poll(async () => (await call('GET', '/api/v1/me/preferences')).json.theme).toBe('dark');
    const colours = await page.evaluate(async () =>
      Promise.all(
        ['/manifest-dark.webmanifest', '/manifest-light.webmanifest'].map(
          async (u) => (await (await fetch(u)).json()).theme_color,
        ),
      ),
    );
    expect(colours).toEqual(['#121212', '#ffffff']);
    // Another visit starts dark before anything is fetched (the cookie), then keeps it.
    await page.reload();
    await expect.poll(background).toBe('rgb(18, 18, 18)');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');

    const tracks = (await call('GET', '/api/v1/tracks?limit=100')).json.items as { id: string; title: string }[];
    const share = (
      await call('POST', '/api/v1/shares', { kind: 'track', id: tracks.find((t) => t.title === 'Sing Along')!.id })
    ).json;
    const phone = await browser.context.newPage();
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.emulateMedia({ colorScheme: 'light' });
      await phone.goto(`${server.base}${share.url}`);
      await phone.getByRole('heading', { name: 'Sing Along' }).waitFor();
      expect(await phone.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(18, 18, 18)');
      const expiry = phone.locator('time[data-local]');
      const iso = await expiry.getAttribute('datetime');
      await expect
        .poll(() => expiry.innerText())
        .toBe(
          await phone.evaluate(
            (d) => new Date(d).toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' }),
            iso!,
          ),
        );
      expect(await expiry.innerText()).not.toMatch(/GMT|UTC/);
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await shot(phone, 'share-dark');
    } finally {
      await phone.close();
    }

    await page.getByRole('radio', { name: /^Light/ }).check();
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(background).toBe('rgb(255, 255, 255)');
    expect(await manifest()).toBe('/manifest-light.webmanifest');
    await shot(page, 'settings-light');
    await page.getByRole('radio', { name: /^System/ }).check();
    await expect.poll(background).toBe('rgb(18, 18, 18)');
    expect(await manifest()).toBe('/manifest-dark.webmanifest');
    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(background).toBe('rgb(255, 255, 255)');
    await expect.poll(async () => (await call('GET', '/api/v1/me/preferences')).json.theme).toBe('system');
  });

  it('the offline banner clears by itself when the network comes back', async () => {
    await page.goto(`${server.base}/albums`);
    await page.getByRole('link', { name: /^Two Discs/ }).waitFor({ timeout: 15_000 });
    await browser.context.setOffline(true);
    try {
      await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Artists' }).click();
      await page.getByText("You're offline.").waitFor({ timeout: 15_000 });
    } finally {
      await browser.context.setOffline(false);
    }
    await page.getByText("You're offline.").waitFor({ state: 'detached', timeout: 15_000 });
  });
});
