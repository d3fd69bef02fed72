/**
 * Runs the scan phases in order over one context: publishes each phase as it starts (listeners
 * may stop the scan there; the stop is honoured before the phase runs), times it into
 * `phaseMs` and logs `scan phase … done`.
 */
import { diffPhase } from './diff.js';
import { gcPhase } from './gc.js';
import { groupNeeded, groupPhase } from './group.js';
import { addTime, type ScanContext } from './context.js';
import type { ScanPhase } from './progress.js';
import { prunePhase } from './prune.js';
import { readPhase } from './read.js';
import { walkPhase } from './walk.js';

export interface PhaseStep {
  name: Exclude<ScanPhase, 'done'>;
  run(ctx: ScanContext): Promise<void> | void;
  /** Skips the phase when false (its time is then not recorded). */
  when?(ctx: ScanContext): boolean;
}

/** The library scan, in order (README.md, "Scan phases"). */
export const SCAN_PHASES: PhaseStep[] = [
  { name: 'walk', run: walkPhase },
  { name: 'diff', run: diffPhase },
  { name: 'read', run: readPhase },
  { name: 'prune', run: prunePhase },
  { name: 'group', run: groupPhase, when: groupNeeded },
  { name: 'gc', run: gcPhase, when: groupNeeded },
];

export async function runPhases(ctx: ScanContext, phases: PhaseStep[] = SCAN_PHASES): Promise<void> {
  for (const phase of phases) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (phase.when && !phase.when(ctx)) continue;
    ctx.progress.phase = phase.name;
    ctx.publish(true);
    if (ctx.signal.aborted) throw ctx.signal.reason; // a listener stopped the scan at this phase
    const t0 = performance.now();
    try {
      await phase.run(ctx);
    } finally {
      addTime(ctx, phase.name, performance.now() - t0);
    }
    ctx.log.info({ ms: ctx.phaseMs[phase.name], ...phaseFigures(ctx, phase.name) }, `scan phase ${phase.name} done`);
  }
}

function phaseFigures(ctx: ScanContext, phase: PhaseStep['name']): Record<string, number> {
  const p = ctx.progress;
  switch (phase) {
    case 'walk':
      return { files: p.filesFound };
    case 'diff':
      return { toRead: p.filesTotal, missing: ctx.diff.missing.size, deferred: p.deferred };
    case 'read':
      return { read: p.filesDone, artworkMs: ctx.phaseMs.artwork ?? 0, writeMs: ctx.phaseMs.write ?? 0 };
    case 'prune':
      return { removed: p.removed };
    default:
      return {};
  }
}
