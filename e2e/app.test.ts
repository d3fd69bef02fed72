/**
 * The web app end to end: Debian's Chromium (playwright-core) against the real built server
 * started as a child process on a generated library, plus a loopback origin that the `url`
 * source plays through yt-dlp. One journey, in the order a new owner would go:
 * setup → login → browse → play → seek → next → search (local + remote) → playlist → like →
 * share (opened logged-out) → admin → XSS title rendered as text → phone layout → offline shell.
 */
import { mkdirSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../server/src/test/origin.js';
import { makeAudio } from '../server/src/test/audio.js';
import { type Browser, launch } from './support/browser.js';
import { scratchDir } from './support/build.js';
import { type RunningServer, startServer } from './support/server.js';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const XSS = '<img src=x onerror=alert(1)>';
const PASSWORD = 'e2e-correct-horse-battery';

let dir: string;
let server: RunningServer;
let origin: Origin;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];
/** Browser console warnings/errors, shown when a step fails. */
const consoleLog: string[] = [];
const streamRequests: { url: string; range: string | undefined }[] = [];

/** currentTime of the <audio> element that is playing (the player keeps a second one preloading). */
const playingTime = () =>
  page.evaluate(() => {
    const els = [...document.querySelectorAll('audio')];
    const active = els.find((a) => !a.paused) ?? els[0];
    return active ? active.currentTime : -1;
  });
const nowTitle = () => page.locator('[data-testid="now-title"]').innerText();
const shot = (name: string, p: Page = page) => p.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = scratchDir('run-');
  const lib = join(dir, 'library');
  // A long, large first track (PCM WAV, ~106 MB) so the browser has to ask for a later byte
  // range when seeking: Chromium never preloads that much, however long the earlier steps take on
  // a loaded machine (a 19 MB MP3 was sometimes fully buffered before the seek).
  await makeAudio(join(lib, 'E2E Artist', 'Night Drive', '01 Opening.wav'), {
    seconds: 1200,
    channels: 1,
    frequency: 330,
    tags: {
      title: 'Opening Long Track',
      artist: 'E2E Artist',
      album: 'Night Drive',
      track: '1',
      date: '2024',
      genre: 'Synthwave',
    },
  });
  await makeAudio(join(lib, 'E2E Artist', 'Night Drive', '02 Second.mp3'), {
    seconds: 20,
    frequency: 440,
    tags: {
      title: 'Second Song',
      artist: 'E2E Artist',
      album: 'Night Drive',
      track: '2',
      date: '2024',
      genre: 'Synthwave',
    },
  });
  await makeAudio(join(lib, 'E2E Artist', 'Night Drive', '03 Xss.mp3'), {
    seconds: 10,
    frequency: 550,
    tags: { title: XSS, artist: 'E2E Artist', album: 'Night Drive', track: '3', date: '2024', genre: 'Synthwave' },
  });
  await makeAudio(join(lib, 'Other Band', 'Daylight', '01 Morning.mp3'), {
    seconds: 12,
    frequency: 660,
    tags: { title: 'Morning', artist: 'Other Band', album: 'Daylight', track: '1', genre: 'Pop' },
  });
  // The scanner defers files modified in the last moments (they may still be copying); these
  // were finished long ago as far as it is concerned.
  const past = new Date(Date.now() - 10 * 60_000);
  for (const f of readdirSync(lib, { recursive: true, withFileTypes: true })) {
    if (f.isFile()) utimesSync(join(f.parentPath, f.name), past, past);
  }
  const remoteFile = await makeAudio(join(dir, 'origin', 'loopback-remote-song.mp3'), { seconds: 30, frequency: 770 });

  origin = await startOrigin();
  origin.set('/loopback-remote-song.mp3', { kind: 'file', path: remoteFile });

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

  browser = await launch();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'warning' || m.type() === 'error') consoleLog.push(`${m.type()}: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/stream/'))
      streamRequests.push({ url: r.url(), range: r.headers().range });
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await origin?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('web app in Chromium', () => {
  it('first-run setup creates the admin, then sign-out and login work', async () => {
    expect(server.setupToken, 'setup link in the server log').toBeTruthy();
    await page.goto(`${server.base}/setup?token=${server.setupToken}`);
    await page.getByLabel('Admin username').fill('owner');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat password').fill(PASSWORD);
    await shot('01-setup');
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await expect.poll(() => page.locator('h1.page-title').innerText(), { timeout: 15_000 }).toMatch(/, owner$/);

    await page.goto(`${server.base}/settings`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(/\/login$/);
    await page.getByLabel('Username').fill('owner');
    await page.getByLabel('Password').fill(PASSWORD);
    await shot('02-login');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('h1.page-title').innerText(), { timeout: 15_000 }).toMatch(/, owner$/);
  });

  it('browses albums, opens one and plays: currentTime advances', async () => {
    // The start-up scan runs in the background; the albums grid fills once it has committed.
    await expect
      .poll(async () => page.evaluate(async () => (await (await fetch('/api/v1/albums')).json()).total), {
        timeout: 60_000,
      })
      .toBe(2);
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Albums' }).click();
    await page.getByRole('link', { name: 'Night Drive by E2E Artist' }).waitFor();
    await shot('03-albums');
    await page.getByRole('link', { name: 'Night Drive by E2E Artist' }).click();
    await expect.poll(() => page.locator('.hero h1').innerText()).toBe('Night Drive');

    await page.getByRole('button', { name: 'Play Night Drive' }).click();
    await expect.poll(nowTitle, { timeout: 15_000 }).toBe('Opening Long Track');
    await expect.poll(playingTime, { timeout: 20_000 }).toBeGreaterThan(0.3);
    const t1 = await playingTime();
    await expect.poll(playingTime, { timeout: 20_000 }).toBeGreaterThan(t1 + 0.5);
    await shot('04-album-playing');
  });

  it('seeks with the seek bar: the browser asks for a later byte range', async () => {
    streamRequests.length = 0;
    await page.getByRole('slider', { name: 'Seek' }).fill('1100');
    await expect.poll(playingTime, { timeout: 20_000 }).toBeGreaterThan(1090);
    const ranged = streamRequests.filter((r) => r.range && /^bytes=[1-9]\d*-/.test(r.range));
    expect(ranged.length, `stream requests: ${JSON.stringify(streamRequests)}`).toBeGreaterThan(0);
  });

  it('skips to the next track', async () => {
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    await expect.poll(nowTitle).toBe('Second Song');
    await expect.poll(playingTime, { timeout: 20_000 }).toBeGreaterThan(0.3);
    // Lock-screen controls follow: Media Session metadata with artwork, and the playing state.
    const session = await page.evaluate(() => ({
      title: navigator.mediaSession.metadata?.title,
      artist: navigator.mediaSession.metadata?.artist,
      artwork: navigator.mediaSession.metadata?.artwork.length ?? 0,
      state: navigator.mediaSession.playbackState,
    }));
    expect(session).toEqual({ title: 'Second Song', artist: 'E2E Artist', artwork: 3, state: 'playing' });
  });

  it('searches the local library and plays a remote result from the loopback source', async () => {
    await page.getByRole('link', { name: 'Search' }).first().click();
    await page.locator('#search-input').fill('Morning');
    const songs = page.getByRole('list', { name: 'Songs in your library' });
    await songs.getByRole('button', { name: 'Play Morning' }).waitFor({ timeout: 15_000 });
    await shot('05-search-local');

    const url = `${origin.base}/loopback-remote-song.mp3`;
    await page.locator('#search-input').fill(url);
    const remote = page.getByRole('region', { name: 'Results from Link' });
    await remote.waitFor({ timeout: 60_000 });
    const play = remote.getByRole('button', { name: /^Play / }).first();
    const title = ((await play.getAttribute('aria-label')) ?? '').replace(/^Play /, '');
    expect(title.length).toBeGreaterThan(0);
    await shot('06-search-remote');
    await play.click();
    await expect.poll(nowTitle, { timeout: 60_000 }).toBe(title);
    await expect.poll(playingTime, { timeout: 60_000 }).toBeGreaterThan(0.3);
    expect(origin.hits('/loopback-remote-song.mp3')).toBeGreaterThan(0);
  });

  it('creates a playlist, adds tracks from the album menu and reorders them with the keyboard', async () => {
    await page.goto(`${server.base}/playlists`);
    await page.getByRole('button', { name: 'New playlist' }).click();
    await page.getByLabel('Name').fill('Road Trip');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await expect
      .poll(() => page.locator('[data-testid="playlist-name"]').innerText(), { timeout: 10_000 })
      .toBe('Road Trip');

    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Albums' }).click();
    await page.getByRole('link', { name: 'Night Drive by E2E Artist' }).click();
    for (const title of ['Second Song', 'Opening Long Track']) {
      await page.getByRole('button', { name: `More actions for ${title}` }).click();
      await page.getByRole('menuitem', { name: 'Add to playlist…' }).click();
      await page
        .getByRole('dialog')
        .getByRole('button', { name: /^Road Trip/ })
        .click();
      await page.getByText('Added to Road Trip').first().waitFor();
    }

    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Road Trip' }).click();
    const entries = page.getByRole('list', { name: 'Songs in Road Trip' }).locator('.title');
    await expect.poll(() => entries.allInnerTexts()).toEqual(['Second Song', 'Opening Long Track']);
    await page.getByRole('button', { name: /^Reorder Opening Long Track/ }).focus();
    await page.keyboard.press('Alt+ArrowUp');
    await expect.poll(() => entries.allInnerTexts()).toEqual(['Opening Long Track', 'Second Song']);
    // The server has the new order too (a reload shows it).
    await page.reload();
    await expect
      .poll(() => entries.allInnerTexts(), { timeout: 10_000 })
      .toEqual(['Opening Long Track', 'Second Song']);
    await shot('07-playlist');
  });

  it('likes a track and finds it in Liked songs', async () => {
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Albums' }).click();
    await page.getByRole('link', { name: 'Night Drive by E2E Artist' }).click();
    const like = page.getByRole('button', { name: 'Like Second Song' });
    await like.click();
    await expect
      .poll(() =>
        page.getByRole('button', { name: 'Remove Second Song from Liked' }).first().getAttribute('aria-pressed'),
      )
      .toBe('true');
    await page.getByRole('link', { name: 'Liked songs' }).first().click();
    await page.getByRole('list', { name: 'Liked songs' }).getByRole('button', { name: 'Play Second Song' }).waitFor();
  });

  it('shares an album: the link plays in a fresh browser without logging in', async () => {
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Albums' }).click();
    await page.getByRole('link', { name: 'Night Drive by E2E Artist' }).click();
    await page.getByRole('button', { name: 'Share Night Drive' }).click();
    await page.getByRole('button', { name: 'Create link' }).click();
    const link = await page.locator('[data-testid="share-url"]').inputValue();
    expect(link).toMatch(/\/share\/[A-Za-z0-9._-]+$/);
    await shot('08-share-dialog');
    await page.keyboard.press('Escape');

    const stranger = await launch();
    try {
      const p = stranger.context.pages()[0] ?? (await stranger.context.newPage());
      const strangerDialogs: string[] = [];
      p.on('dialog', (d) => {
        strangerDialogs.push(d.message());
        void d.dismiss();
      });
      const res = await p.goto(link);
      expect(res?.status()).toBe(200);
      await expect.poll(() => p.locator('h1').first().innerText()).toBe('Night Drive');
      expect(await p.content()).toContain('&lt;img src=x onerror=alert(1)&gt;');
      await p.evaluate(() => document.querySelector('audio')!.play());
      await expect
        .poll(() => p.evaluate(() => document.querySelector('audio')!.currentTime), { timeout: 20_000 })
        .toBeGreaterThan(0.3);
      await shot('09-share-page', p);
      expect(strangerDialogs).toEqual([]);
    } finally {
      await stranger.close();
    }
  });

  it('shows storage numbers on /admin', async () => {
    await page.goto(`${server.base}/admin`);
    const storage = page.locator('[data-testid="storage"]');
    await storage.waitFor({ timeout: 15_000 });
    await expect
      .poll(() => storage.innerText())
      .toMatch(/\d+(\.\d)? (B|KB|MB|GB|TB) of \d+(\.\d)? (B|KB|MB|GB|TB) used/);
    await expect.poll(() => page.locator('[data-testid="scan-status"]').innerText()).toMatch(/scan|Scanning/);
    await shot('10-admin');
  });

  it('renders a track titled <img src=x onerror=alert(1)> as text and runs nothing', async () => {
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Albums' }).click();
    await page.getByRole('link', { name: 'Night Drive by E2E Artist' }).click();
    await page.getByText(XSS, { exact: true }).first().waitFor();
    await page.getByRole('button', { name: `Play ${XSS}` }).click();
    await expect.poll(nowTitle).toBe(XSS);
    await page.goto(`${server.base}/search?q=${encodeURIComponent('onerror')}`);
    await page
      .getByRole('list', { name: 'Songs in your library' })
      .getByText(XSS, { exact: true })
      .waitFor({ timeout: 15_000 });
    expect(await page.locator('img[src="x"]').count()).toBe(0);

    // Playlist names and descriptions too (SECURITY.md 14): markup and entities stay literal text.
    const name = '"><svg onload=alert(2)>';
    const description = '&lt;script&gt;alert(3)&lt;/script&gt;';
    const id = await page.evaluate(
      async ({ name, description }) => {
        const res = await fetch('/api/v1/playlists', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name, description }),
        });
        return ((await res.json()) as { id: string }).id;
      },
      { name, description },
    );
    await page.goto(`${server.base}/playlist/${id}`);
    await expect.poll(() => page.locator('[data-testid="playlist-name"]').innerText(), { timeout: 10_000 }).toBe(name);
    await expect.poll(() => page.locator('.hero .desc').innerText()).toBe(description);
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name }).waitFor();
    expect(await page.locator('svg[onload], script:not([src])').count()).toBe(0);
    expect(dialogs).toEqual([]);
    await shot('11-xss-as-text');
  });

  it('starts playback from a deep link /?track={id} and remembers the queue across a reload', async () => {
    const id = await page.evaluate(async () => {
      const res = await fetch('/api/v1/search/local?q=Morning');
      return ((await res.json()) as { tracks: { id: string }[] }).tracks[0]!.id;
    });
    await page.goto(`${server.base}/?track=${id}`);
    await expect.poll(nowTitle, { timeout: 15_000 }).toBe('Morning');
    await expect.poll(playingTime, { timeout: 20_000 }).toBeGreaterThan(0.3);
    await expect.poll(() => new URL(page.url()).search).toBe('');
    await page.reload();
    await expect.poll(nowTitle, { timeout: 15_000 }).toBe('Morning');
  });

  it('shows artist, genre, history and settings screens from the real API', async () => {
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Artists' }).click();
    await page.getByRole('link', { name: /^E2E Artist/ }).click();
    await expect.poll(() => page.locator('.hero h1').innerText()).toBe('E2E Artist');
    await page.getByRole('link', { name: 'Night Drive by E2E Artist' }).waitFor();
    await shot('12-artist');

    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Genres' }).click();
    await page.getByRole('link', { name: /^Synthwave/ }).click();
    await page.getByRole('link', { name: 'Night Drive by E2E Artist' }).waitFor();
    expect(await page.getByRole('link', { name: 'Daylight by Other Band' }).count()).toBe(0);

    // A track played to its end is reported to the history.
    await page.goto(`${server.base}/search?q=Morning`);
    await page
      .getByRole('list', { name: 'Songs in your library' })
      .getByRole('button', { name: 'Play Morning' })
      .click();
    await expect.poll(nowTitle).toBe('Morning');
    const historyTitles = () =>
      page.evaluate(async () => {
        const res = await fetch('/api/v1/history');
        return ((await res.json()) as { items: { track: { title: string } | null }[] }).items.map(
          (h) => h.track?.title,
        );
      });
    await expect.poll(historyTitles, { timeout: 40_000 }).toContain('Morning');
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'History' }).click();
    await page.getByRole('button', { name: 'Play Morning' }).first().waitFor({ timeout: 15_000 });
    await shot('12-history');

    await page.goto(`${server.base}/settings`);
    await expect.poll(() => page.getByLabel('Format').inputValue()).toMatch(/^(raw|opus|mp3|aac)$/);
    await page.getByText('this device').first().waitFor();
    await shot('12-settings');
  });

  it('follows a dark system theme; keyboard shortcuts drive the queue panel and the help dialog', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Albums' }).click();
    await page.getByRole('link', { name: 'Night Drive by E2E Artist' }).click();
    await page.getByRole('button', { name: 'Play Night Drive' }).click();
    await expect.poll(nowTitle).toBe('Opening Long Track');
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(18, 18, 18)');

    await page.locator('body').press('q');
    const queue = page.getByRole('complementary', { name: 'Queue' });
    await queue.waitFor();
    await expect.poll(() => queue.getByRole('button', { name: /^Play .* now$/ }).count()).toBe(2);
    await shot('12-dark-album-queue');
    await page.locator('body').press('q');
    await queue.waitFor({ state: 'detached' });

    await page.locator('body').press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor();
    await shot('12-dark-shortcuts');
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('fits a 390×844 phone screen', async () => {
    const phone = await browser.context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${server.base}/albums`);
    await phone.getByRole('link', { name: 'Night Drive by E2E Artist' }).waitFor();
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expect.poll(() => phone.getByRole('navigation', { name: 'Main' }).last().isVisible()).toBe(true);
    await shot('12-phone-albums', phone);
    await phone.close();
  });

  it('opens offline from the service worker and browses the last-synced library', async () => {
    await page.goto(`${server.base}/albums`);
    await page.getByRole('link', { name: 'Night Drive by E2E Artist' }).waitFor();
    const swState = () =>
      page.evaluate(async () => {
        const reg = await navigator.serviceWorker.getRegistration();
        return `${reg?.active?.state ?? 'no active worker'}${navigator.serviceWorker.controller ? ', controlling' : ''}`;
      });
    await expect
      .poll(swState, { timeout: 30_000, message: `service worker; console:\n${consoleLog.join('\n')}` })
      .toBe('activated, controlling');

    await server.stop();
    await page.goto(`${server.base}/albums`);
    await page.getByText("You're offline.").waitFor({ timeout: 15_000 });
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Playback needs the server' }).count())
      .toBeGreaterThan(0);
    await page.getByRole('link', { name: 'Night Drive by E2E Artist' }).waitFor({ timeout: 15_000 });
    await shot('13-offline');
    expect(dialogs).toEqual([]);
  });
});
