import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from './schema.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('README configuration reference', () => {
  it('documents every setting with its variable and flag', () => {
    const undocumented = SETTINGS.filter(
      (s) => !README.includes(`\`${s.env}\``) || !README.includes(`\`${s.flag}\``),
    ).map((s) => s.env);
    expect(undocumented, 'add these to the README configuration table').toEqual([]);
  });

  it('keeps the two quick-start commands', () => {
    expect(README).toMatch(/npm start\s+#/);
    expect(README).toMatch(/npm test\s+#/);
  });
});
