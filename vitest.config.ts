import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'server',
          root: './server',
          include: ['src/**/*.test.ts'],
          globalSetup: ['src/test/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
      {
        // The web app's own logic (router, player, offline store, resource helper) in a DOM
        // (happy-dom) with a spec-complete IndexedDB (fake-indexeddb); runes compiled by Svelte's
        // plugin, as in the build. Browser journeys are the e2e project's.
        plugins: [svelte({ configFile: fileURLToPath(new URL('./web/svelte.config.js', import.meta.url)) })],
        resolve: { conditions: ['browser'] },
        test: {
          name: 'web',
          root: './web',
          include: ['src/**/*.test.ts'],
          environment: 'happy-dom',
          setupFiles: ['fake-indexeddb/auto'],
        },
      },
      {
        test: {
          name: 'bench',
          root: './bench',
          include: ['**/*.test.ts'],
          exclude: ['node_modules/**', 'out/**'],
          testTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'e2e',
          root: './e2e',
          globalSetup: ['global-setup.ts'],
          include: ['**/*.test.ts'],
          exclude: ['node_modules/**', 'artifacts/**'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
    ],
  },
});
