/**
 * kill -9 cycles at scale: `npm run bench:crash -- --cycles N [--seed S]` (default 1,000 cycles).
 *
 * The same cycles as the test suite's crash suite (`server/src/system/crash-suite.test.ts`, 30
 * cycles): the built server (`server/dist`; run `npm run build -w server` first) is started on one
 * data dir again and again and killed with SIGKILL at a random moment — during start-up, the scan
 * on start, a full rescan, remote downloads from a slow loopback origin through real yt-dlp — while
 * three users like tracks, report plays and edit playlists. After each kill it checks integrity,
 * every acknowledged write and every file under a final name; a last clean run must complete the
 * interrupted scans and cache jobs. Prints a line every 10 cycles and every problem at once.
 * Exit code 1 when anything failed. Target (issue 13): zero integrity failures, zero lost writes.
 */
import { runCrashCycles } from '../server/src/test/crash-cycles.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

async function main(): Promise<void> {
  const cycles = arg('cycles', 1000);
  const seed = arg('seed', Math.floor(Math.random() * 2 ** 31));
  console.log(`crash bench: ${cycles} kill -9 cycles, seed ${seed}`);
  let window = { n: 0, startUp: 0, ack: 0, unanswered: 0, upMs: 0 };
  const started = Date.now();
  const report = await runCrashCycles({
    cycles,
    seed,
    onCycle: (c) => {
      window.n += 1;
      window.startUp += c.duringStartUp ? 1 : 0;
      window.ack += c.acknowledged;
      window.unanswered += c.unanswered;
      window.upMs += c.upMs;
      for (const p of c.problems) console.log(`  cycle ${c.cycle}: ${p}`);
      if (c.cycle % 10 === 0 || c.cycle === cycles) {
        const elapsed = ((Date.now() - started) / 1000).toFixed(0);
        console.log(
          `cycles ${c.cycle}/${cycles} (${elapsed} s): last ${window.n} — killed in start-up ${window.startUp}, ` +
            `acknowledged writes ${window.ack}, unanswered ${window.unanswered}, mean life ${(window.upMs / window.n).toFixed(0)} ms`,
        );
        window = { n: 0, startUp: 0, ack: 0, unanswered: 0, upMs: 0 };
      }
    },
  });
  const integrity = report.problems.filter((p) => p.includes('integrity_check') || p.includes('foreign_key')).length;
  const lost = report.problems.filter((p) => p.includes('lost write') || p.includes('acknowledged')).length;
  console.log(
    `crash bench done in ${(report.ms / 1000).toFixed(0)} s: ${report.cycles} cycles (seed ${seed}), ` +
      `${report.killedDuringStartUp} killed during start-up; ${report.acknowledged} acknowledged writes, ` +
      `${report.unanswered} unanswered at a kill; ${report.scansFinished} scans and ${report.downloadsCompleted} downloads completed between kills`,
  );
  console.log(
    `integrity failures ${integrity}, lost acknowledged writes ${lost}, problems in all ${report.problems.length}`,
  );
  for (const p of report.problems.slice(0, 50)) console.log(`  ${p}`);
  process.exitCode = report.problems.length === 0 ? 0 : 1;
}

void main();
