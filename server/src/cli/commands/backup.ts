import { maskDatabaseUrl } from '../../db/engine.js';
import { backupDatabase, BackupError, restoreDatabase, verifyBackup } from '../../system/backup.js';
import { dataPaths } from '../../shared/fs-paths.js';
import { type CliCommand, EXIT_CONFIG, loadConfigForCli } from '../command.js';
import { green, red } from '../output.js';

/**
 * `earshot backup` / `restore` copy the SQLite file. A PostgreSQL database is backed up with the
 * engine's own tools (consistent while replicas write, and the way its operators already work);
 * saying so beats writing a file that holds nothing. Exit code EXIT_CONFIG: not in this setup.
 */
function refusePostgres(url: string | undefined, what: 'backup' | 'restore'): number | null {
  if (!url) return null;
  const masked = maskDatabaseUrl(url);
  console.error(
    red(
      what === 'backup'
        ? `The database is PostgreSQL (${masked}): earshot backup copies a SQLite file only. Back PostgreSQL up with its own tools, e.g.\n  pg_dump --format=custom --file=earshot.pgdump '${masked}'\n(or your provider's snapshots / CloudNativePG backups), and keep the server key (EARSHOT_SECRET_KEY or its file) with it.`
        : `The database is PostgreSQL (${masked}): earshot restore swaps a SQLite file only. Restore PostgreSQL with its own tools, e.g.\n  pg_restore --clean --if-exists --dbname='${masked}' earshot.pgdump\nwith every replica stopped.`,
    ),
  );
  return EXIT_CONFIG;
}

export const backupCommand: CliCommand = {
  name: 'backup',
  summary: 'Write a verified copy of the database (safe while the server runs).',
  usage:
    'earshot backup [FILE]   (default: <data dir>/backups/earshot-<time>.db, plus FILE.key)\n' +
    '       earshot backup verify FILE   (integrity, row counts, server key; exit 1 when unusable)',
  async run(argv) {
    if (argv[0] === 'verify') return verify(argv.slice(1));
    const parsed = loadConfigForCli(argv);
    if (!parsed) return EXIT_CONFIG;
    const refused = refusePostgres(parsed.loaded.config.databaseUrl, 'backup');
    if (refused !== null) return refused;
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
    const refused = refusePostgres(parsed.loaded.config.databaseUrl, 'restore');
    if (refused !== null) return refused;
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

/** `earshot backup verify FILE`: needs no configuration, only the file (and FILE.key beside it). */
function verify(args: string[]): number {
  const file = args.find((a) => !a.startsWith('-'));
  if (!file) {
    console.error('Which backup? Usage: earshot backup verify FILE');
    return 64;
  }
  try {
    const r = verifyBackup(file);
    console.log(green(`${r.file}: integrity ok, ${r.migrations} migrations, ${(r.bytes / 1024).toFixed(0)} KiB`));
    for (const [table, n] of Object.entries(r.rows)) console.log(`  ${table.padEnd(28)} ${n}`);
    if (!r.key) {
      console.log(`No server key beside it (${file}.key): sessions and app passwords would not survive a restore.`);
      return 0;
    }
    console.log(
      r.key.ok ? `Server key ${r.key.file}: ${r.key.detail}` : red(`Server key ${r.key.file} ${r.key.detail}`),
    );
    return r.key.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof BackupError) {
      console.error(red(`Backup unusable: ${err.message}`));
      return 1;
    }
    throw err;
  }
}
