import { existsSync } from 'node:fs';
import { connectDatabase } from '../../db/engine.js';
import { migrateToLatest } from '../../db/migrate.js';
import { dataPaths, ensureDataDirs } from '../../shared/fs-paths.js';
import { type CliCommand, EXIT_CONFIG, loadConfigForCli } from '../command.js';
import { green } from '../output.js';

export const migrateCommand: CliCommand = {
  name: 'migrate',
  summary: 'Apply pending database migrations (the server also does this at start-up).',
  async run(argv) {
    const parsed = loadConfigForCli(argv);
    if (!parsed) return EXIT_CONFIG;
    const paths = dataPaths(parsed.loaded.config);
    ensureDataDirs(paths);
    const { databaseUrl } = parsed.loaded.config;
    const existed = existsSync(paths.dbFile);
    let database: Awaited<ReturnType<typeof connectDatabase>>;
    try {
      database = await connectDatabase({ url: databaseUrl, path: paths.dbFile });
    } catch (err) {
      console.error((err as Error).message);
      return 1;
    }
    try {
      const report = await migrateToLatest(database.db);
      if (database.engine === 'postgres') console.log(`Database: ${database.url}`);
      else console.log(`${existed ? 'Database' : 'New database'}: ${paths.dbFile}`);
      if (report.applied.length === 0)
        console.log(green(`Up to date (${report.alreadyApplied.length} migrations applied earlier).`));
      else for (const name of report.applied) console.log(green(`applied ${name}`));
      return 0;
    } catch (err) {
      console.error((err as Error).message);
      return 1;
    } finally {
      await database.close();
    }
  },
};
