/**
 * The Tracks screen with 100,000 tracks: the list stays virtualised (a bounded number of rows in
 * the DOM however far you scroll), reaches the last track, and nothing shifts while pages load
 * (Cumulative Layout Shift from the browser's own layout-shift entries).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launch } from './support/browser.js';
import { scratchDir } from './support/build.js';
import { type RunningServer, startServer } from './support/server.js';
import { registerSqlFunctions } from '../server/src/db/sql-functions.js';

const COUNT = 100_000;
const PASSWORD = 'virtual-list-password';
let dir: string;
let server: RunningServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  dir = scratchDir('bulk-');
  mkdirSync(join(dir, 'library'));
  const env = { EARSHOT_SOURCES_YOUTUBE: 'false', EARSHOT_SOURCES_SOUNDCLOUD: 'false' };
  // First start: migrations and the admin account (through the real setup endpoint).
  server = await startServer(dir, env);
  const res = await fetch(`${server.base}/auth/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: server.setupToken, username: 'bulk', password: PASSWORD }),
  });
  expect(res.status).toBe(201);
  await server.stop();

  // A catalogue of 100,000 (remote, uncached) tracks written straight into the real database file.
  const db = new Database(join(dir, 'db', 'earshot.db'));
  registerSqlFunctions(db); // the search index triggers fold with it (migration 0017)
  const now = Date.now();
  const insert = db.prepare(
    `insert into tracks (id, source_type, remote_id, title, artist, duration, added_at, updated_at)
     values (?, 'url', ?, ?, ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < COUNT; i++) {
      const n = String(i).padStart(6, '0');
      insert.run(
        `bulk${n}`,
        `https://music.example/${n}.mp3`,
        `Track ${n}`,
        `Artist ${i % 977}`,
        180 + (i % 120),
        now,
        now,
      );
    }
  })();
  db.close();

  server = await startServer(dir, env);
  browser = await launch();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  await page.goto(`${server.base}/login`);
  await page.getByLabel('Username').fill('bulk');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('h1.page-title').waitFor();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Tracks list with 100,000 tracks', () => {
  it('keeps a bounded DOM, reaches the end and does not shift layout', async () => {
    await page.evaluate(() => {
      const w = window as unknown as { __cls: number };
      w.__cls = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as (PerformanceEntry & { value: number; hadRecentInput: boolean })[])
          if (!e.hadRecentInput) w.__cls += e.value;
      }).observe({ type: 'layout-shift', buffered: false });
    });
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Tracks' }).click();
    await page.getByText('100,000 tracks').waitFor({ timeout: 20_000 });
    const list = page.getByRole('list', { name: 'All tracks' });
    await list.getByRole('button', { name: 'Play Track 000000' }).waitFor();
    const rows = () => list.getByRole('listitem').count();
    expect(await rows()).toBeLessThan(120);

    // Jump to the middle and to the very end, as a scrollbar drag does.
    for (const [fraction, title] of [
      [0.5, /Track 0[45]\d{4}/],
      [1, /Track 099999/],
    ] as const) {
      await page.evaluate((f) => {
        const main = document.getElementById('main')!;
        main.scrollTop = (main.scrollHeight - main.clientHeight) * f;
      }, fraction);
      await expect.poll(() => list.innerText(), { timeout: 20_000 }).toMatch(title);
      expect(await rows()).toBeLessThan(120);
    }
    await page.screenshot({ path: join(import.meta.dirname, 'artifacts', '20-tracks-100k-end.png') });
    const cls = await page.evaluate(() => (window as unknown as { __cls: number }).__cls);
    expect(cls).toBeLessThan(0.1);
  });
});
