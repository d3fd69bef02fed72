/** The phase runner: order, timing, progress per phase, skipped phases, a stop honoured at a phase's start. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachEngine } from '../../test/engines.js';
import { type LibraryTestServer, startLibraryServer } from '../../test/library-server.js';
import { scanContext } from '../../test/scan-context.js';
import { type PhaseStep, runPhases, SCAN_PHASES } from './runner.js';

let t: LibraryTestServer;
forEachEngine((engine) => {
  beforeAll(async () => {
    t = await startLibraryServer(engine);
  });
  afterAll(() => t?.close());

  describe('scan runner', () => {
    it('runs the library phases in order', () => {
      expect(SCAN_PHASES.map((p) => p.name)).toEqual(['walk', 'diff', 'read', 'prune', 'group', 'gc']);
    });

    it('publishes each phase as it starts, times it and skips phases whose condition is false', async () => {
      const ctx = scanContext(t);
      const ran: string[] = [];
      const steps: PhaseStep[] = [
        { name: 'walk', run: () => void ran.push('walk') },
        { name: 'diff', run: () => void ran.push('diff'), when: () => false },
        { name: 'read', run: async () => void ran.push('read') },
      ];
      await runPhases(ctx, steps);
      expect(ran).toEqual(['walk', 'read']);
      expect(ctx.published).toEqual(['walk', 'read']);
      expect(Object.keys(ctx.phaseMs)).toEqual(['walk', 'read']);
    });

    it('a stop requested when a phase starts is honoured before that phase runs; a failing phase is still timed', async () => {
      const abort = new AbortController();
      const ctx = scanContext(t, { signal: abort.signal });
      const ran: string[] = [];
      ctx.publish = () => {
        if (ctx.progress.phase === 'prune') abort.abort(new Error('stopped'));
      };
      const steps: PhaseStep[] = [
        { name: 'read', run: () => void ran.push('read') },
        { name: 'prune', run: () => void ran.push('prune') },
      ];
      await expect(runPhases(ctx, steps)).rejects.toThrow('stopped');
      expect(ran).toEqual(['read']);

      const failing = scanContext(t);
      await expect(
        runPhases(failing, [
          {
            name: 'group',
            run: () => {
              throw new Error('disk full');
            },
          },
        ]),
      ).rejects.toThrow('disk full');
      expect(failing.phaseMs.group).toBeGreaterThanOrEqual(0);
    });
  });
});
