import { existsSync } from 'node:fs';
import { CopyRefused, copySqliteToPostgres } from '../../db/copy.js';
import { openDatabase } from '../../db/database.js';
import { isPostgresUrl, maskDatabaseUrl } from '../../db/engine.js';
import { openPostgres } from '../../db/postgres.js';
import { dataPaths } from '../../shared/fs-paths.js';
import { type CliCommand, EXIT_CONFIG, loadConfigForCli } from '../command.js';
import { green, red } from '../output.js';

/** `--to URL` / `--to=URL` taken out of argv (the rest goes to the configuration loader). */
function takeTo(argv: string[]): { to?: string; rest: string[] } {
  const rest: string[] = [];
  let to: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--to' && i + 1 < argv.length) to = argv[++i];
    else if (arg.startsWith('--to=')) to = arg.slice('--to='.length);
    else rest.push(arg);
  }
  return { to, rest };
}

export const migrateDbCommand: CliCommand = {
  name: 'migrate-db',
  summary: 'Copy the SQLite database into PostgreSQL (--to postgres://…), verifying row counts.',
  usage: [
    'earshot migrate-db --to postgres://user:password@host:5432/earshot [--force]',
    '  Copies every table of the SQLite database (users, playlists, likes, history, shares, keys,',
    '  settings, remote tracks, library rows) in one transaction and compares row counts per table.',
    '  Refuses a target that already holds rows unless --force (which replaces them).',
    '  --to defaults to EARSHOT_DATABASE_URL. Stop the server first for an up-to-date copy.',
  ].join('\n'),
  async run(argv) {
    const { to, rest } = takeTo(argv);
    const parsed = loadConfigForCli(rest, ['--force']);
    if (!parsed) return EXIT_CONFIG;
    const url = to ?? parsed.loaded.config.databaseUrl;
    if (!url || !isPostgresUrl(url)) {
      console.error(
        red('Give the target as --to postgres://user:password@host:5432/db (or set EARSHOT_DATABASE_URL).'),
      );
      return EXIT_CONFIG;
    }
    const paths = dataPaths(parsed.loaded.config);
    if (!existsSync(paths.dbFile)) {
      console.error(red(`No SQLite database at ${paths.dbFile} (set EARSHOT_DATA_DIR or EARSHOT_DB_DIR).`));
      return 1;
    }
    console.log(`From ${paths.dbFile}`);
    console.log(`To   ${maskDatabaseUrl(url)}`);
    const source = openDatabase(paths.dbFile);
    const target = openPostgres(url, { max: 2 });
    try {
      const copied = await copySqliteToPostgres(source, target.db, {
        force: parsed.own.has('--force'),
        onProgress: (table, done, total) => {
          if (done === total) console.log(`  ${table.padEnd(20)} ${String(done).padStart(8)} rows`);
          else if (process.stdout.isTTY) process.stdout.write(`  ${table.padEnd(20)} ${done}/${total}\r`);
        },
      });
      const rows = copied.reduce((n, c) => n + c.rows, 0);
      console.log(green(`Copied ${rows} rows in ${copied.length} tables; every table's row count matches.`));
      console.log(
        `Start the server with EARSHOT_DATABASE_URL=${maskDatabaseUrl(url)} (your password in place of ***).`,
      );
      return 0;
    } catch (err) {
      console.error(
        red(err instanceof CopyRefused ? `Refused: ${err.message}` : `Copy failed: ${(err as Error).message}`),
      );
      return 1;
    } finally {
      await target.db.destroy();
      await source.close();
    }
  },
};
