/**
 * The `earshot` command table. Each area adds its commands here (scan, user, backup, restore …).
 *
 * Commands are loaded on demand: `earshot scan` must not load the HTTP server, `earshot serve`
 * not the backup code, and Node's ES-module loader costs ~1 ms of start-up per module file (the
 * whole server is ~800). The table holds what `earshot help` lists; a command's own module holds
 * the rest (`commands.test.ts` checks the two agree).
 */
import type { CliCommand } from './command.js';

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<CliCommand>;
}

export const COMMANDS: CommandEntry[] = [
  {
    name: 'serve',
    summary: 'Start the server (the default command).',
    load: async () => (await import('./commands/serve.js')).serveCommand,
  },
  {
    name: 'migrate',
    summary: 'Apply pending database migrations (the server also does this at start-up).',
    load: async () => (await import('./commands/migrate.js')).migrateCommand,
  },
  {
    name: 'migrate-db',
    summary: 'Copy the SQLite database into PostgreSQL (--to postgres://…), verifying row counts.',
    load: async () => (await import('./commands/migrate-db.js')).migrateDbCommand,
  },
  {
    name: 'config',
    summary: 'Print the effective configuration (secrets redacted) and where each value came from.',
    load: async () => (await import('./commands/config.js')).configCommand,
  },
  {
    name: 'doctor',
    summary: 'Check Node, data folders, the database and ffmpeg / ffprobe / yt-dlp; say how to fix what is missing.',
    load: async () => (await import('./commands/doctor.js')).doctorCommand,
  },
  {
    name: 'openapi',
    summary: 'Print (or write with --out FILE) the OpenAPI document of the native API.',
    load: async () => (await import('./commands/openapi.js')).openapiCommand,
  },
  {
    name: 'backup',
    summary: 'Write a verified copy of the database (safe while the server runs).',
    load: async () => (await import('./commands/backup.js')).backupCommand,
  },
  {
    name: 'restore',
    summary: 'Replace the database with a backup (refuses damaged files; stop the server first).',
    load: async () => (await import('./commands/backup.js')).restoreCommand,
  },
  {
    name: 'scan',
    summary: 'Scan the music folder now and print a summary (--full re-reads every file).',
    load: async () => (await import('./commands/scan.js')).scanCommand,
  },
  {
    name: 'user',
    summary: 'Manage accounts: add, list, passwd, role, delete; Subsonic apikey / app-password.',
    load: async () => (await import('./commands/user.js')).userCommand,
  },
];
