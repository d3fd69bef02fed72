import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEarshot } from '../../main.js';
import { sql } from 'kysely';
import { PID_FILE } from '../../system/backup.js';
import { scopeLauncherPreload } from '../../system/launcher-env.js';
import { startSdNotify } from '../../system/sd-notify.js';
import { type CliCommand, EXIT_CONFIG, loadConfigForCli } from '../command.js';

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Start the server (the default command).',
  async run(argv) {
    scopeLauncherPreload(process.env);
    const parsed = loadConfigForCli(argv);
    if (!parsed) return EXIT_CONFIG;
    const { config } = parsed.loaded;
    const earshot = await createEarshot(config);
    const { logger } = earshot;

    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn({ signal }, 'second %s: exiting now', signal);
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'received %s: shutting down (at most %d ms)', signal, config.shutdownTimeoutMs);
      const hardStop = setTimeout(() => {
        logger.error('shutdown took too long: exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs + 5_000);
      hardStop.unref();
      earshot.close().then(
        () => {
          logger.info('stopped cleanly');
          logger.flush?.();
          setImmediate(() => process.exit(0));
        },
        (err) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));

    try {
      const address = await earshot.listen();
      // Lets `earshot restore` refuse to swap the database under a running server.
      const pidFile = join(config.dbDir, PID_FILE);
      writeFileSync(pidFile, String(process.pid));
      earshot.lifecycle.onStop('pid file', () => rmSync(pidFile, { force: true }));
      const shown = config.publicUrl ?? address.replace('://127.0.0.1', '://127.0.0.1');
      logger.info(
        { address, musicDir: config.musicDir, dataDir: config.dataDir },
        `Earshot is listening on ${address}`,
      );
      if (config.publicUrl) logger.info(`public URL: ${shown}`);
      // Under systemd (Type=notify): ready now, then watchdog pings while healthy.
      startSdNotify({
        probe: () => sql`select 1`.execute(earshot.database.db),
        logger,
        lifecycle: earshot.lifecycle,
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE')
        logger.error(`Port ${config.port} is already in use. Stop the other program or set EARSHOT_PORT.`);
      else if (e.code === 'EACCES')
        logger.error(`Not allowed to listen on ${config.host}:${config.port}. Use a port above 1024.`);
      else logger.error({ err }, 'could not start listening');
      await earshot.close();
      return 1;
    }
    // Keep running until a signal arrives.
    return new Promise<number>(() => {});
  },
};
