import { backupDatabase, BackupError, restoreDatabase } from '../../system/backup.js';
import { dataPaths } from '../../shared/fs-paths.js';
import { type CliCommand, EXIT_CONFIG, loadConfigForCli } from '../command.js';
import { green, red } from '../output.js';

export const backupCommand: CliCommand = {
  name: 'backup',
  summary: 'Write a verified copy of the database (safe while the server runs).',
  usage: 'earshot backup [FILE]   (default: <data dir>/backups/earshot-<time>.db, plus FILE.key)',
  async run(argv) {
    const parsed = loadConfigForCli(argv);
    if (!parsed) return EXIT_CONFIG;
    const paths = dataPaths(parsed.loaded.config);
    try {
      const r = await backupDatabase({ dbFile: paths.dbFile, dbDir: paths.dbDir, out: parsed.rest[0] });
      console.log(
        green(
          `Backup written and verified: ${r.file} (${(r.bytes / 1024).toFixed(0)} KiB, ${r.migrations} migrations)`,
        ),
      );
      if (r.keyFile) console.log(`Server key copied to ${r.keyFile} — keep both files together and private.`);
      return 0;
    } catch (err) {
      if (err instanceof BackupError) {
        console.error(red(err.message));
        return 1;
      }
      throw err;
    }
  },
};

export const restoreCommand: CliCommand = {
  name: 'restore',
  summary: 'Replace the database with a backup (refuses damaged files; stop the server first).',
  usage: 'earshot restore FILE',
  async run(argv) {
    const parsed = loadConfigForCli(argv);
    if (!parsed) return EXIT_CONFIG;
    const from = parsed.rest[0];
    if (!from) {
      console.error('Which backup? Usage: earshot restore FILE');
      return 64;
    }
    const paths = dataPaths(parsed.loaded.config);
    try {
      const r = await restoreDatabase({ from, dbFile: paths.dbFile, dbDir: paths.dbDir });
      console.log(green(`Restored ${from} into ${paths.dbFile}.`));
      if (r.previous) console.log(`The replaced database was kept as ${r.previous} in ${paths.dbDir}.`);
      return 0;
    } catch (err) {
      if (err instanceof BackupError) {
        console.error(red(`Restore refused: ${err.message}`));
        return 1;
      }
      throw err;
    }
  },
};
