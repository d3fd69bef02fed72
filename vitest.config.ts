import { svelte } from '@sveltejs/vite-plugin-svelte';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './server/src/test/sequencer.js';

/**
 * Test files running at once in the forks pool (server, web, bench): the CPUs, at least 2 and at
 * most 4. Vitest's default is one less than the CPUs — a single worker on the 2-core machines CI
 * and most contributors have, so the whole suite ran file after file although much of its time
 * is spent waiting (on servers, ffmpeg, yt-dlp, timers). At most 4: every file on PostgreSQL
 * holds pools of up to 10 connections (several per replica test) on a cluster allowing 200.
 * EARSHOT_TEST_WORKERS (or --maxWorkers) overrides it. server/src/test/README.md ("How long the
 * suite takes and why") has the figures.
 */
const workers = Number(process.env.EARSHOT_TEST_WORKERS) || Math.min(4, Math.max(2, availableParallelism()));

export default defineConfig({
  test: {
    maxWorkers: workers,
    minWorkers: 1,
    // Longest files first, from the last run's durations (or a committed table on a fresh clone).
    sequence: { sequencer: LongestFirstSequencer },
    // The e2e project alone uses the threads pool, whose single thread runs its files one after
    // another (one Chromium and one built server at a time) alongside the forks pool, rather than
    // after it: the pools are separate, and a project's own fileParallelism does not limit either.
    poolOptions: { threads: { maxThreads: 1, minThreads: 1 } },
    projects: [
      {
        test: {
          name: 'server',
          root: './server',
          include: ['src/**/*.test.ts'],
          globalSetup: ['src/test/global-setup.ts'],
          // A safety net against hangs, not a speed check: files now share the cores, and on a
          // machine loaded by other jobs a 3-second caching-proxy test once needed over 30 s.
          testTimeout: 60_000,
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
          pool: 'threads',
        },
      },
    ],
  },
});
