/** Debian's Chromium driven by playwright-core, each context on a fresh profile directory. */
import { rmSync } from 'node:fs';
import { type BrowserContext, chromium } from 'playwright-core';
import { scratchDir } from './build.js';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Deep links and tests start playback without a click, like a user who already tapped play.
  '--autoplay-policy=no-user-gesture-required',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launch(options: { width?: number; height?: number; isMobile?: boolean } = {}): Promise<Browser> {
  const profile = scratchDir('chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    viewport: { width: options.width ?? 1366, height: options.height ?? 860 },
    isMobile: options.isMobile,
    hasTouch: options.isMobile,
    serviceWorkers: 'allow',
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
