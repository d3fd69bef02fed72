/**
 * The order vitest starts test files in: longest first, so the run does not end with one long file
 * alone on a worker while the others sit idle (the brief: about 15 minutes on 2 cores).
 *
 * Vitest's own sequencer already sorts by the last run's durations, but only from its cache
 * (node_modules/.vite/vitest), which a fresh clone — CI — does not have; it then falls back to file
 * size, which put the 50-second crash suite near the very end. So a file's expected duration comes
 * from, in order: this machine's cache of the last run, then the committed table
 * `file-durations.json` (per-file times of a full run; refresh it with
 * `node scripts/test-durations.mjs` after `npm test`). A file that failed last time still runs first
 * (quick feedback, as vitest does); a file in neither (a new one) runs early, as it may be slow.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const table = JSON.parse(readFileSync(new URL('./file-durations.json', import.meta.url), 'utf8')) as Record<
  string,
  number
>;

/** Ahead of every known duration, behind files that failed last time. */
const UNKNOWN = 1e9;
const FAILED = 2e9;

export default class LongestFirstSequencer extends BaseSequencer {
  /** `project:path from the repository root`, the key of vitest's cache and of the table. */
  private key(spec: TestSpecification): string {
    return `${spec.project.name}:${relative(this.ctx.config.root, spec.moduleId).split('\\').join('/')}`;
  }

  private expected(spec: TestSpecification): number {
    const key = this.key(spec);
    const cached = this.ctx.cache.getFileTestResults(key);
    if (cached?.failed) return FAILED;
    return cached?.duration ?? table[key] ?? UNKNOWN;
  }

  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const expected = new Map(files.map((f) => [f, this.expected(f)]));
    return [...files].sort((a, b) => (expected.get(b) ?? 0) - (expected.get(a) ?? 0));
  }
}
