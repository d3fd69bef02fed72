import { accessSync, constants, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { connectDatabase, maskDatabaseUrl } from '../../db/engine.js';
import { dataPaths } from '../../shared/fs-paths.js';
import { probeTools, toolWarning } from '../../system/tools.js';
import { type CliCommand, EXIT_CONFIG, loadConfigForCli } from '../command.js';
import { bold, green, red, yellow } from '../output.js';

const MIN_NODE = [20, 11];

type Level = 'ok' | 'warn' | 'fail';
interface Finding {
  level: Level;
  what: string;
  fix?: string;
}

function checkWritable(label: string, dir: string): Finding {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    const probe = join(dir, `.earshot-doctor-${process.pid}`);
    writeFileSync(probe, 'ok');
    rmSync(probe);
    return { level: 'ok', what: `${label} is writable: ${dir}` };
  } catch (err) {
    return {
      level: 'fail',
      what: `${label} is not writable: ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      fix: `sudo chown -R "$(id -u):$(id -g)" "${dir}"   or point the setting somewhere writable`,
    };
  }
}

/** Connects to EARSHOT_DATABASE_URL and says what answered (the URL shown with its password masked). */
async function checkPostgres(url: string): Promise<Finding> {
  const masked = maskDatabaseUrl(url);
  let database: Awaited<ReturnType<typeof connectDatabase>> | undefined;
  try {
    database = await connectDatabase({ url, path: '' });
    const { rows } = await sql<{ version: string }>`select current_setting('server_version') as version`.execute(
      database.db,
    );
    const migrations = await sql<{ n: number }>`select count(*) as n from kysely_migration`
      .execute(database.db)
      .then((r) => Number(r.rows[0]?.n ?? 0))
      .catch(() => 0);
    return {
      level: 'ok',
      what: `PostgreSQL ${(rows[0]?.version ?? '?').split(' ')[0]} answers at ${masked} (${migrations ? `${migrations} migrations applied` : 'no Earshot tables yet: the server creates them at start'})`,
    };
  } catch (err) {
    return {
      level: 'fail',
      what: `PostgreSQL at ${masked} does not answer: ${(err as Error).message}`,
      fix: 'Check the host, port, user, password and database name in EARSHOT_DATABASE_URL, and that the server accepts connections from here (pg_hba.conf, firewall)',
    };
  } finally {
    await database?.close().catch(() => {});
  }
}

export const doctorCommand: CliCommand = {
  name: 'doctor',
  summary: 'Check Node, data folders, the database and ffmpeg / ffprobe / yt-dlp; say how to fix what is missing.',
  async run(argv) {
    const parsed = loadConfigForCli(argv);
    if (!parsed) return EXIT_CONFIG;
    const { config } = parsed.loaded;
    const paths = dataPaths(config);
    const findings: Finding[] = [];

    const [major, minor] = process.versions.node.split('.').map(Number);
    findings.push(
      major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])
        ? { level: 'ok', what: `Node.js ${process.versions.node}` }
        : {
            level: 'fail',
            what: `Node.js ${process.versions.node} is too old (need ${MIN_NODE.join('.')}+)`,
            fix: 'Install Node.js 20 LTS: https://nodejs.org/ or `nvm install 20`',
          },
    );

    findings.push(checkWritable('Music folder', paths.musicDir));
    findings.push(checkWritable('Cache folder', paths.cacheDir));
    findings.push(checkWritable('Database folder', paths.dbDir));

    if (config.databaseUrl) {
      findings.push(await checkPostgres(config.databaseUrl));
    } else if (existsSync(paths.dbFile)) {
      try {
        const db = new SQLite(paths.dbFile, { readonly: true, fileMustExist: true });
        const rows = db.pragma('quick_check') as Record<string, string>[];
        db.close();
        const result = rows.map((r) => Object.values(r)[0]);
        findings.push(
          result.length === 1 && result[0] === 'ok'
            ? { level: 'ok', what: `Database passes quick_check: ${paths.dbFile}` }
            : {
                level: 'fail',
                what: `Database is damaged: ${result.slice(0, 5).join('; ')}`,
                fix: 'Restore the latest backup: earshot restore <file>',
              },
        );
      } catch (err) {
        findings.push({
          level: 'fail',
          what: `Database cannot be opened: ${(err as Error).message}`,
          fix: 'Restore the latest backup: earshot restore <file>',
        });
      }
    } else {
      findings.push({ level: 'ok', what: `Database not created yet (it will be at ${paths.dbFile})` });
    }

    for (const tool of probeTools(config)) {
      if (!tool.available) {
        findings.push({
          level: 'warn',
          what: `${tool.name} not found (${tool.path}): no ${tool.needed}`,
          fix: tool.install,
        });
        continue;
      }
      findings.push({ level: 'ok', what: `${tool.name} ${tool.version}` });
      const warning = toolWarning(tool);
      if (warning) {
        findings.push({
          level: 'warn',
          what: warning,
          fix: 'pipx install yt-dlp (or download the yt-dlp binary from its releases page) and set EARSHOT_YTDLP to it',
        });
      }
    }

    console.log(bold('Earshot doctor'));
    for (const f of findings) {
      const mark = f.level === 'ok' ? green('✓') : f.level === 'warn' ? yellow('!') : red('✗');
      console.log(`${mark} ${f.what}`);
      if (f.fix) console.log(`    fix: ${f.fix}`);
    }
    const fails = findings.filter((f) => f.level === 'fail').length;
    const warns = findings.filter((f) => f.level === 'warn').length;
    console.log(
      fails
        ? red(`${fails} problem(s), ${warns} warning(s).`)
        : warns
          ? yellow(`No problems; ${warns} warning(s).`)
          : green('All good.'),
    );
    return fails ? 1 : 0;
  },
};
