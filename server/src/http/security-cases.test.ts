/**
 * SECURITY.md's "Bad inputs" list (1–27) is a list of tests we must have. Convention: a test (or
 * its describe block) whose title names the case, `SECURITY 12: …` or `… (SECURITY.md 12, 26)`.
 * This test reads every test file's titles and reports which numbers are covered, so a case can
 * neither be forgotten nor silently lose its test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Being built right now by other branches (Subsonic API keys, trusted identity headers, Access JWTs, OIDC). */
const PENDING = new Map<number, string>([
  [5, 'Subsonic u/t/s, apiKey (Subsonic branch)'],
  [7, 'identity headers from untrusted peers (identity branch)'],
  [8, 'Cloudflare Access JWT verification (identity branch)'],
  [9, 'OIDC callback (identity branch)'],
]);
/** Cases whose feature does not exist: the test comes with the feature. */
const NOT_APPLICABLE = new Map<number, string>([[25, 'there is no upload feature yet']]);

function testFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) testFiles(path, out);
    else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const TITLE = /\b(?:it|describe|test)(?:\.each\([\s\S]*?\))?\(\s*(['"`])((?:\\.|(?!\1).)*)\1/g;
const CASES = /SECURITY(?:\.md)? (\d{1,2}(?:\s*,\s*\d{1,2})*)/g;

/** Case number → files whose test titles name it. */
export function coveredCases(): Map<number, Set<string>> {
  const covered = new Map<number, Set<string>>();
  for (const file of [...testFiles(join(ROOT, 'server/src')), ...testFiles(join(ROOT, 'e2e'))]) {
    const text = readFileSync(file, 'utf8');
    for (const title of text.matchAll(TITLE)) {
      for (const m of title[2].matchAll(CASES)) {
        for (const n of m[1].split(',').map((x) => Number(x.trim()))) {
          if (!covered.has(n)) covered.set(n, new Set());
          covered.get(n)?.add(file.slice(ROOT.length));
        }
      }
    }
  }
  return covered;
}

describe('SECURITY.md bad inputs are each named in a test', () => {
  it('every case 1–27 is covered, pending on another branch, or not applicable (listed)', () => {
    const covered = coveredCases();
    const missing: number[] = [];
    for (let n = 1; n <= 27; n++) {
      if (!covered.has(n) && !PENDING.has(n) && !NOT_APPLICABLE.has(n)) missing.push(n);
    }
    const report = [...Array(27).keys()].map((i) => {
      const n = i + 1;
      const files = covered.get(n);
      if (files) return `${n}: ${[...files].join(', ')}`;
      return `${n}: ${PENDING.get(n) ? `pending — ${PENDING.get(n)}` : (NOT_APPLICABLE.get(n) ?? 'MISSING')}`;
    });
    // The report is the point of this test: print it for whoever runs it.
    console.log(`SECURITY.md coverage:\n${report.join('\n')}`);
    expect(missing).toEqual([]);
    // Numbers outside the list are typos.
    expect([...covered.keys()].filter((n) => n < 1 || n > 27)).toEqual([]);
  });
});
