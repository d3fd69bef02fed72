/** The `earshot` command table. Each area adds its commands here (scan, user, backup, restore …). */
import type { CliCommand } from './command.js';
import { backupCommand, restoreCommand } from './commands/backup.js';
import { configCommand } from './commands/config.js';
import { doctorCommand } from './commands/doctor.js';
import { migrateCommand } from './commands/migrate.js';
import { openapiCommand } from './commands/openapi.js';
import { scanCommand } from './commands/scan.js';
import { serveCommand } from './commands/serve.js';
import { userCommand } from './commands/user.js';

export const COMMANDS: CliCommand[] = [
  serveCommand,
  migrateCommand,
  configCommand,
  doctorCommand,
  openapiCommand,
  backupCommand,
  restoreCommand,
  scanCommand,
  userCommand,
];
