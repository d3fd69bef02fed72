/**
 * Build-time plugins: PWA icons (rendered from icons/icon.svg with sharp), the web manifest, the
 * service worker (versioned by a hash of the emitted files), and a report of the gzipped size of
 * the JavaScript/CSS a first visit loads (the budget is 70 KB of JavaScript, Now Playing included; the build fails above it).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { OutputBundle } from 'rollup';
import type { Plugin } from 'vite';

const ROOT = join(import.meta.dirname, '..');
const JS_BUDGET = 70 * 1024;

export function pwaPlugin(): Plugin {
  return {
    name: 'earshot-pwa',
    apply: 'build',
    enforce: 'post',
    async generateBundle(_options, bundle) {
      const sharp = (await import('sharp')).default;
      const svg = readFileSync(join(ROOT, 'public/icons/icon.svg'));
      const png = (size: number, pad = 0) =>
        sharp(svg, { density: 384 })
          .resize(size - pad * 2, size - pad * 2)
          .extend({ top: pad, bottom: pad, left: pad, right: pad, background: '#0b8f6a' })
          .png({ compressionLevel: 9 })
          .toBuffer();
      const icons: [string, Buffer][] = [
        ['icons/icon-192.png', await png(192)],
        ['icons/icon-512.png', await png(512)],
        ['icons/maskable-512.png', await png(512, 56)],
        ['icons/apple-touch-icon.png', await png(180)],
      ];
      for (const [fileName, source] of icons) this.emitFile({ type: 'asset', fileName, source });

      const manifest = {
        name: 'Earshot',
        short_name: 'Earshot',
        description: 'Your own music streaming server',
        id: '/',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'any',
        background_color: '#121212',
        theme_color: '#121212',
        categories: ['music', 'entertainment'],
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          { src: '/icons/icon.svg', sizes: 'any', type: 'image/svg+xml' },
        ],
        shortcuts: [
          { name: 'Search', url: '/search' },
          { name: 'Liked songs', url: '/liked' },
        ],
      };
      // One manifest per theme (the app points <link rel=manifest> at the one in effect, so an
      // installed app's title bar matches it); the plain one follows the light default of index.html.
      const variants: [string, string][] = [
        ['manifest.webmanifest', '#ffffff'],
        ['manifest-light.webmanifest', '#ffffff'],
        ['manifest-dark.webmanifest', '#121212'],
      ];
      for (const [fileName, colour] of variants)
        this.emitFile({
          type: 'asset',
          fileName,
          source: JSON.stringify({ ...manifest, background_color: colour, theme_color: colour }, null, 2),
        });

      // The shell: everything emitted so far plus the public folder's icon; versioned by content.
      const files = Object.keys(bundle)
        .filter((f) => !f.endsWith('.map') && f !== 'sw.js')
        .sort();
      const hash = createHash('sha256');
      for (const f of files) {
        const item = bundle[f]!;
        hash.update(f);
        hash.update(
          item.type === 'chunk' ? item.code : typeof item.source === 'string' ? item.source : Buffer.from(item.source),
        );
      }
      const version = hash.digest('hex').slice(0, 16);
      const shell = ['/index.html', '/icons/icon.svg', ...files.filter((f) => f !== 'index.html').map((f) => `/${f}`)];
      const template = readFileSync(join(ROOT, 'build/sw.template.js'), 'utf8');
      const sw = template.replace('__VERSION__', version).replace('__SHELL__', JSON.stringify(shell));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: sw });
    },
  };
}

/** Prints the gzipped size of what the first page load fetches (entry chunk, its static imports, CSS). */
export function sizeReportPlugin(): Plugin {
  return {
    name: 'earshot-size-report',
    apply: 'build',
    enforce: 'post',
    writeBundle(_options, bundle: OutputBundle) {
      const initial = new Set<string>();
      const visit = (name: string) => {
        if (initial.has(name)) return;
        const item = bundle[name];
        if (!item || item.type !== 'chunk') return;
        initial.add(name);
        for (const imp of item.imports) visit(imp);
      };
      const css = new Set<string>();
      for (const [name, item] of Object.entries(bundle)) if (item.type === 'chunk' && item.isEntry) visit(name);
      for (const name of initial) {
        const item = bundle[name];
        if (item?.type === 'chunk') for (const c of item.viteMetadata?.importedCss ?? []) css.add(c);
      }
      const gz = (name: string) => {
        const item = bundle[name]!;
        const raw = item.type === 'chunk' ? item.code : item.source;
        return gzipSync(typeof raw === 'string' ? raw : Buffer.from(raw), { level: 9 }).length;
      };
      let js = 0;
      let styles = 0;
      const lines: string[] = [];
      for (const name of initial) {
        const size = gz(name);
        js += size;
        lines.push(`  ${name.padEnd(48)} ${(size / 1024).toFixed(1).padStart(7)} KB gz`);
      }
      for (const name of css) {
        const size = gz(name);
        styles += size;
        lines.push(`  ${name.padEnd(48)} ${(size / 1024).toFixed(1).padStart(7)} KB gz`);
      }
      const lazy = Object.values(bundle).filter((i) => i.type === 'chunk' && !initial.has(i.fileName));
      const lazyGz = lazy.reduce((sum, i) => sum + gz(i.fileName), 0);
      console.log('\nInitial load (gzipped):');
      for (const l of lines) console.log(l);
      console.log(
        `  JavaScript ${(js / 1024).toFixed(1)} KB of ${JS_BUDGET / 1024} KB budget; CSS ${(styles / 1024).toFixed(1)} KB; ` +
          `${lazy.length} lazy chunks ${(lazyGz / 1024).toFixed(1)} KB`,
      );
      if (js > JS_BUDGET)
        this.error(
          `initial JavaScript is ${(js / 1024).toFixed(1)} KB gzipped, over the ${JS_BUDGET / 1024} KB budget`,
        );
    },
  };
}
