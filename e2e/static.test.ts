/**
 * Source-level guarantees of the web app that a browser run cannot prove for every screen:
 * no component renders HTML from data, and no inline script reaches index.html (CSP `script-src 'self'`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/build.js';

function files(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) files(full, out);
    else if (/\.(svelte|ts)$/.test(entry) && !entry.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

describe('web app source', () => {
  it('never uses {@html} or innerHTML, so every tag, name and description is text', () => {
    const offenders = files(join(ROOT, 'web', 'src')).filter((f) =>
      /\{@html|\.innerHTML\s*=|insertAdjacentHTML|outerHTML\s*=/.test(readFileSync(f, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('ships index.html without inline scripts (the CSP forbids them)', () => {
    const html = readFileSync(join(ROOT, 'web', 'dist', 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/assets\//);
      expect(body!.trim()).toBe('');
    }
  });
});
