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
