/**
 * `earshot scan [--full]`: scans the music folder once, with a live progress bar on a terminal
 * (plain progress lines otherwise) and a summary at the end. Safe to run while the server runs
 * (SQLite WAL, or PostgreSQL; each batch is one transaction), though the server's own watcher usually suffices.
 * The scanner and the event bus are built as the server builds them (scan/factory.ts,
 * domain-events.ts), so removed tracks lose their likes and counters here too.
 */
import { connectDatabase } from '../../db/engine.js';
import { migrateToLatest } from '../../db/migrate.js';
import { createDomainEvents } from '../../domain-events.js';
import { createScanner } from '../../library/scan/factory.js';
import type { ScanProgress, ScanSummary } from '../../library/scan/progress.js';
import { dataPaths, ensureDataDirs } from '../../shared/fs-paths.js';
import { createLogger } from '../../shared/logger.js';
import { systemClock } from '../../shared/time.js';
import { type CliCommand, EXIT_CONFIG, loadConfigForCli } from '../command.js';
import { bold, green, red, table, yellow } from '../output.js';

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** One progress line: bar, files done/total, files/s, ETA. */
export function progressLine(p: ScanProgress, width = 28): string {
  if (p.phase !== 'read' || p.filesTotal === 0)
    return `${p.phase}… ${p.filesFound > 0 ? `${p.filesFound} files found` : ''}`.trim();
  const ratio = Math.min(1, p.filesDone / p.filesTotal);
  const filled = Math.round(ratio * width);
  const rate = p.elapsedMs > 0 ? p.filesDone / (p.elapsedMs / 1000) : 0;
  const eta = rate > 0 ? ((p.filesTotal - p.filesDone) / rate) * 1000 : 0;
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  return `${bar} ${p.filesDone}/${p.filesTotal} files  ${Math.round(rate)} files/s  ETA ${duration(eta)}`;
}

export function summaryTable(s: ScanSummary): string {
  return table([
    ['added', String(s.added)],
    ['updated', String(s.updated)],
    ['moved', String(s.moved)],
    ['removed', String(s.removed)],
    ['unreadable', String(s.unreadable)],
    ['still copying', String(s.deferred)],
    ['time', `${(s.elapsedMs / 1000).toFixed(1)} s`],
  ]);
}

export const scanCommand: CliCommand = {
  name: 'scan',
  summary: 'Scan the music folder now and print a summary (--full re-reads every file).',
  usage:
    'earshot scan [--full] [config flags]\n  --full   re-read the tags of every file, not only new and changed ones',
  async run(argv) {
    const parsed = loadConfigForCli(argv, ['--full']);
    if (!parsed) return EXIT_CONFIG;
    const { config } = parsed.loaded;
    const paths = dataPaths(config);
    ensureDataDirs(paths);
    // Logs go to stderr at warn level so the progress bar stays readable.
    const logger = createLogger({
      level: config.logLevel === 'info' ? 'warn' : config.logLevel,
      format: config.logFormat,
      destination: 2,
    });
    // PostgreSQL when EARSHOT_DATABASE_URL names one (the scanner has a path for each engine).
    const database = await connectDatabase({ url: config.databaseUrl, path: paths.dbFile });
    try {
      await migrateToLatest(database.db);
      const domain = createDomainEvents({ database, clock: systemClock, logger });
      const scanner = createScanner({ config, database, paths, clock: systemClock, logger, events: domain.events });
      const tty = process.stdout.isTTY === true;
      // Not a terminal (a log, a service): a plain line when the phase changes, then when another
      // tenth of the files is read or at most every 2 s — a short scan still shows its progress.
      let lastPlain = 0;
      let lastPhase = '';
      let lastTenth = 0;
      scanner.onProgress((p, final) => {
        if (final) return;
        if (tty) {
          process.stdout.write(`\r\x1b[2K${progressLine(p)}`);
          return;
        }
        const tenth = p.filesTotal > 0 ? Math.floor((10 * p.filesDone) / p.filesTotal) : 0;
        if (p.phase !== lastPhase || tenth > lastTenth || Date.now() - lastPlain >= 2000) {
          lastPlain = Date.now();
          lastPhase = p.phase;
          lastTenth = tenth;
          console.log(progressLine(p));
        }
      });
      const interrupt = () => void scanner.stop();
      process.once('SIGINT', interrupt);
      process.once('SIGTERM', interrupt);
      console.log(`Scanning ${bold(paths.musicDir)}${parsed.own.has('--full') ? ' (full)' : ''}`);
      const summary = await scanner.start({ full: parsed.own.has('--full'), trigger: 'cli' });
      await domain.settled(); // the other areas' clean-up of removed tracks, before the database closes
      if (tty) process.stdout.write('\r\x1b[2K');
      console.log(summaryTable(summary));
      if (summary.state === 'done') {
        console.log(green(`Scan finished: ${summary.filesFound} files in the library.`));
        if (summary.unreadableTotal > 0)
          console.log(
            yellow(
              `${summary.unreadableTotal} files could not be read (${summary.unreadable} in this scan); the list is in Admin → Library scan and at GET /api/v1/scan/errors.`,
            ),
          );
        return 0;
      }
      console.error(red(`Scan ${summary.state}${summary.error ? `: ${summary.error}` : ''}`));
      return 1;
    } finally {
      await database.close();
    }
  },
};
