/**
 * Listening offline, in Chromium against the real built server: a 20-track playlist downloaded to
 * the browser (Cache Storage, at the user's streaming quality: Opus transcoded from FLAC here), then
 * played with the network off (context.setOffline), across reloads, with the tracks marked as on
 * the device; Settings shows the space used; Remove empties the cache; the per-device limit stops
 * a download that would pass it.
 */
import { mkdirSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio } from '../server/src/test/audio.js';
import { type Browser, launch } from './support/browser.js';
import { scratchDir } from './support/build.js';
import { type RunningServer, startServer } from './support/server.js';
import { until } from './support/wait.js';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const PASSWORD = 'e2e-offline-password-1';
const TRACKS = 20;

let dir: string;
let server: RunningServer;
let browser: Browser;
let page: Page;
let cookie = '';
let playlistId = '';
/** Responses to the page's /stream/ requests: whether the service worker answered them. */
const streamResponses: { path: string; fromServiceWorker: boolean; status: number }[] = [];

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers: { cookie, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** Current time of the <audio> element that is playing (or -1). */
const playing = () =>
  page.evaluate(() => {
    const el = [...document.querySelectorAll('audio')].find((a) => !a.paused);
    return el ? el.currentTime : -1;
  });
const cachedCount = () => page.evaluate(async () => (await (await caches.open('earshot-audio-v1')).keys()).length);
const onDevice = () => page.getByRole('list', { name: 'Songs in Road Mix' }).getByText('On this device.').count();

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = scratchDir('downloads-');
  const lib = join(dir, 'library');
  for (let i = 1; i <= TRACKS; i++) {
    const n = String(i).padStart(2, '0');
    await makeAudio(join(lib, 'Road Band', 'Road Album', `${n}.flac`), {
      seconds: 5,
      channels: 1,
      frequency: 200 + i * 20,
      tags: { title: `Road Song ${n}`, artist: 'Road Band', album: 'Road Album', track: String(i) },
    });
  }
  const past = new Date(Date.now() - 10 * 60_000);
  for (const f of readdirSync(lib, { recursive: true, withFileTypes: true }))
    if (f.isFile()) utimesSync(join(f.parentPath, f.name), past, past);
  server = await startServer(dir, {
    EARSHOT_MUSIC_DIR: lib,
    EARSHOT_SCAN_ON_START: 'true',
    EARSHOT_SOURCES_YOUTUBE: 'false',
    EARSHOT_SOURCES_SOUNDCLOUD: 'false',
  });
  const setup = await fetch(`${server.base}/auth/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: server.setupToken, username: 'traveller', password: PASSWORD }),
  });
  expect(setup.status).toBe(201);
  cookie = (setup.headers.get('set-cookie') ?? '').split(';')[0]!;
  await until(
    async () => (await call('GET', '/api/v1/tracks?limit=1')).json.total,
    (n) => n === TRACKS,
    'the scan',
  );
  // This user streams Opus 96 kbps, even at home: downloads must store exactly that.
  const prefs = await call('PUT', '/api/v1/me/streaming', {
    defaultFormat: 'opus',
    defaultMaxBitRate: 96,
    lanOriginal: false,
  });
  expect(prefs.status).toBe(200);
  const tracks = (await call('GET', '/api/v1/tracks?sort=album&limit=100')).json.items as { id: string }[];
  playlistId = (await call('POST', '/api/v1/playlists', { name: 'Road Mix' })).json.id;
  expect(
    (await call('POST', `/api/v1/playlists/${playlistId}/tracks`, { trackIds: tracks.map((t) => t.id) })).status,
  ).toBeLessThan(300);

  browser = await launch({ width: 390, height: 844, isMobile: true });
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on('dialog', (d) => void d.accept());
  page.on('response', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith('/stream/') && !r.request().serviceWorker())
      streamResponses.push({ path, fromServiceWorker: r.fromServiceWorker(), status: r.status() });
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('listening offline', () => {
  it('signs in; the service worker takes control', async () => {
    await page.goto(`${server.base}/login`);
    await page.getByLabel('Username').fill('traveller');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.locator('h1.page-title').first().innerText(), { timeout: 15_000 })
      .toContain('traveller');
    await expect
      .poll(
        () =>
          page.evaluate(
            async () =>
              !!(await navigator.serviceWorker.getRegistration())?.active && !!navigator.serviceWorker.controller,
          ),
        { timeout: 30_000 },
      )
      .toBe(true);
  });

  it('downloads a 20-track playlist at the streaming quality, with progress, and marks the tracks', async () => {
    await page.goto(`${server.base}/playlist/${playlistId}`);
    // Every progress text the page shows, however fast the loopback download goes.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { progressSeen: string[] }).progressSeen = seen;
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('[role="status"]')) {
          const text = (el.textContent ?? '').trim();
          if (/^Downloading \d+ of 20$/.test(text) && seen.at(-1) !== text) seen.push(text);
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByRole('button', { name: 'Download Road Mix to this device' }).click();
    // Done, or stopped with a message (which then fails the test with its text).
    await page.locator('.dl .state.done').or(page.getByRole('alert')).first().waitFor({ timeout: 240_000 });
    expect(await page.getByRole('alert').allInnerTexts()).toEqual([]);
    expect(await page.locator('.dl .state.done').innerText()).toMatch(/^On this device · \d+(\.\d)? (KB|MB)$/);
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
    expect(seen[0]).toBe('Downloading 0 of 20');
    const counts = seen.map((t) => Number(/(\d+) of/.exec(t)![1]));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts.length).toBeGreaterThan(2);
    expect(await cachedCount()).toBe(TRACKS);
    await expect.poll(onDevice).toBe(TRACKS);
    const types = await page.evaluate(async () => {
      const cache = await caches.open('earshot-audio-v1');
      return [
        ...new Set(
          await Promise.all((await cache.keys()).map(async (k) => (await cache.match(k))!.headers.get('content-type'))),
        ),
      ];
    });
    expect(types).toEqual(['audio/ogg; codecs=opus']);
    await page.screenshot({ path: join(ARTIFACTS, 'downloads-done.png') });

    await page.goto(`${server.base}/settings`);
    const usage = page.getByTestId('dl-usage');
    await expect.poll(() => usage.innerText()).toMatch(/^\d+(\.\d)? (KB|MB) of 2\.0 GB used by downloads/);
    await page.getByRole('button', { name: 'Remove Road Mix from this device' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'downloads-settings.png') });
  }, 400_000);

  it('plays the downloaded playlist with the network off, across reloads', async () => {
    await page.goto(`${server.base}/playlist/${playlistId}`);
    await expect.poll(onDevice).toBe(TRACKS);
    await browser.context.setOffline(true);
    try {
      await page.reload();
      await page.getByText("You're offline.").waitFor({ timeout: 15_000 });
      await expect.poll(onDevice, { timeout: 15_000 }).toBe(TRACKS);
      streamResponses.length = 0;
      await page.getByRole('button', { name: 'Play Road Mix' }).click();
      await expect.poll(playing, { timeout: 20_000 }).toBeGreaterThan(0.5);
      // Seeking needs byte ranges, which the service worker answers from the stored copy.
      await page.getByRole('button', { name: /^Open Now Playing/ }).click();
      await page.getByRole('dialog', { name: 'Now playing' }).getByRole('slider', { name: 'Seek' }).fill('3');
      await expect.poll(playing, { timeout: 20_000 }).toBeGreaterThan(3);
      await page.getByRole('dialog', { name: 'Now playing' }).getByRole('button', { name: 'Next' }).click();
      await expect.poll(() => page.getByTestId('np-title').innerText()).toBe('Road Song 02');
      await expect.poll(playing, { timeout: 20_000 }).toBeGreaterThan(0.5);
      await page.screenshot({ path: join(ARTIFACTS, 'downloads-offline-playing.png') });

      await page.reload();
      await page.getByText("You're offline.").waitFor({ timeout: 15_000 });
      await page.getByRole('button', { name: 'Play Road Mix' }).click();
      await expect.poll(playing, { timeout: 20_000 }).toBeGreaterThan(0.5);
      expect(streamResponses.length).toBeGreaterThan(0);
      expect(streamResponses.filter((r) => !r.fromServiceWorker || r.status >= 400)).toEqual([]);
    } finally {
      await browser.context.setOffline(false);
    }
  });

  it('removes the download on demand', async () => {
    await page.goto(`${server.base}/playlist/${playlistId}`);
    await page.getByRole('button', { name: 'Remove Road Mix from this device' }).click();
    await page.getByRole('button', { name: 'Download Road Mix to this device' }).waitFor();
    expect(await cachedCount()).toBe(0);
    expect(await onDevice()).toBe(0);
    // Gone for good: still nothing after a reload.
    await page.reload();
    await page.getByRole('button', { name: 'Download Road Mix to this device' }).waitFor();
    expect(await onDevice()).toBe(0);
  });

  it('stops at the per-device limit and says so', async () => {
    // A limit of about three tracks' worth (each is ~60 KB of Opus).
    await page.evaluate(() => localStorage.setItem('earshot.downloadLimit', String(200 * 1024)));
    await page.reload();
    await page.getByRole('button', { name: 'Download Road Mix to this device' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'download limit (200 KB) is reached' })
      .waitFor({ timeout: 60_000 });
    const stored = await cachedCount();
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(TRACKS);
    const bytes = await page.evaluate(async () => {
      const cache = await caches.open('earshot-audio-v1');
      let sum = 0;
      for (const k of await cache.keys()) sum += (await (await cache.match(k))!.blob()).size;
      return sum;
    });
    expect(bytes).toBeLessThanOrEqual(200 * 1024);
    await page.getByRole('button', { name: 'Download Road Mix to this device' }).waitFor();
    expect(await page.getByRole('button', { name: 'Download Road Mix to this device' }).innerText()).toBe(
      `Resume download (${stored} of 20)`,
    );
  });
});
