import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';
import { pwaPlugin, sizeReportPlugin } from './build/plugins.js';

const API = process.env.EARSHOT_DEV_API ?? 'http://127.0.0.1:8600';

export default defineConfig({
  plugins: [svelte(), pwaPlugin(), sizeReportPlugin()],
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    port: 8601,
    proxy: Object.fromEntries(['/api', '/auth', '/stream', '/share', '/system', '/rest'].map((p) => [p, API])),
  },
});
