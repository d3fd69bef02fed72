/**
 * Scan phase `group`: recomputes album and artist counts, disc counts, durations, compilation
 * flags and album artwork, deletes empty albums, artists and genres, merges the search index.
 * Runs when something changed, after a run that did not finish (so a killed scan never leaves
 * stale counts for long), and on full scans; skipped otherwise.
 */
import { type ScanContext, yieldNow } from './context.js';

/** Whether this run needs the group (and gc) phases. */
export function groupNeeded(ctx: ScanContext): boolean {
  const p = ctx.progress;
  return p.added + p.updated + p.moved + p.removed > 0 || ctx.resumeNeeded || p.kind === 'full';
}

export async function groupPhase(ctx: ScanContext): Promise<void> {
  await ctx.group.regroup(ctx.options.clock.now(), yieldNow);
}
