/**
 * `earshot user add|list|passwd|role|delete` — account management on the database directly
 * (through the same services as the API), e.g. to create the first admin on a headless box or to
 * recover a lost admin password. Passwords come from `--password`, a hidden prompt on a terminal,
 * or the first line of stdin (`echo "$PW" | earshot user passwd alice`), never from the log.
 */
import type { Readable } from 'node:stream';
import { pino } from 'pino';
import { createAccounts } from '../../accounts/index.js';
import type { Role } from '../../accounts/auth-context.js';
import { connectDatabase } from '../../db/engine.js';
import { migrateToLatest } from '../../db/migrate.js';
import { isDomainError } from '../../shared/errors.js';
import { dataPaths, ensureDataDirs } from '../../shared/fs-paths.js';
import { loadOrCreateServerKey } from '../../shared/server-key.js';
import { systemClock } from '../../shared/time.js';
import { type CliCommand, EXIT_CONFIG, loadConfigForCli } from '../command.js';
import { green, red, table } from '../output.js';

const USAGE = `earshot user add NAME [--role admin|user] [--password PW]
       earshot user list
       earshot user passwd NAME [--password PW]
       earshot user role NAME admin|user
       earshot user delete NAME --yes
       earshot user apikey NAME [--label L]
       earshot user app-password NAME [--label L]
Without --password, the password is prompted for (terminal) or read from the first line of stdin.
apikey / app-password print a new Subsonic API key / app password on stdout (shown only once).`;

export interface CliIo {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  out: (line: string) => void;
  err: (line: string) => void;
}

const EXIT_USAGE = 64;

/** Pulls `--name value` / `--name=value` out of argv (so config flag parsing never sees them). */
function takeOption(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name && i + 1 < argv.length) return argv.splice(i, 2)[1];
    if (argv[i].startsWith(`${name}=`)) return argv.splice(i, 1)[0].slice(name.length + 1);
  }
  return undefined;
}

async function readFirstLine(stream: Readable): Promise<string> {
  let data = '';
  for await (const chunk of stream) {
    data += chunk.toString();
    const nl = data.search(/\r?\n/);
    if (nl !== -1) return data.slice(0, nl);
    if (data.length > 4096) break;
  }
  return data.replace(/\r?\n$/, '');
}

function promptHidden(io: CliIo, question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = io.stdin;
    process.stdout.write(question);
    stdin.setRawMode?.(true);
    stdin.resume();
    let value = '';
    const done = (fn: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      process.stdout.write('\n');
      fn();
    };
    const onData = (chunk: Buffer | string) => {
      for (const c of chunk.toString()) {
        if (c === '\r' || c === '\n') return done(() => resolve(value));
        if (c === '\u0003' || c === '\u0004') return done(() => reject(new Error('Cancelled.')));
        if (c === '\u007f' || c === '\b') value = value.slice(0, -1);
        else value += c;
      }
    };
    stdin.on('data', onData);
  });
}

async function readPassword(io: CliIo, flag: string | undefined, confirm: boolean): Promise<string> {
  if (flag !== undefined) return flag;
  if (!io.stdin.isTTY) return readFirstLine(io.stdin);
  const first = await promptHidden(io, 'Password: ');
  if (confirm && (await promptHidden(io, 'Repeat password: ')) !== first)
    throw new Error('The passwords do not match.');
  return first;
}

function parseRole(value: string | undefined): Role | null {
  return value === 'admin' || value === 'user' ? value : null;
}

export async function runUserCommand(argv: string[], io: CliIo): Promise<number> {
  const args = [...argv];
  const password = takeOption(args, '--password');
  const roleFlag = takeOption(args, '--role');
  const label = takeOption(args, '--label');
  const parsed = loadConfigForCli(args, ['--yes']);
  if (!parsed) return EXIT_CONFIG;
  const [action, name, extra] = parsed.rest;
  if (!action || !['add', 'list', 'passwd', 'role', 'delete', 'apikey', 'app-password'].includes(action)) {
    io.err(`Usage: ${USAGE}`);
    return EXIT_USAGE;
  }
  if (action !== 'list' && !name) {
    io.err(`Which user? Usage: ${USAGE}`);
    return EXIT_USAGE;
  }

  const config = parsed.loaded.config;
  const paths = dataPaths(config);
  ensureDataDirs(paths);
  const database = await connectDatabase({ url: config.databaseUrl, path: paths.dbFile });
  try {
    await migrateToLatest(database.db);
    const accounts = createAccounts({
      db: database.db,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      config,
      serverKey: loadOrCreateServerKey(paths.dbDir, config.secretKey),
    });
    const { users } = accounts;
    switch (action) {
      case 'list': {
        const rows = await users.list();
        if (rows.length === 0) io.out('No users yet.');
        else
          io.out(
            table([
              ['USERNAME', 'ROLE', 'CREATED'],
              ...rows.map((u) => [u.username, u.role, new Date(u.created_at).toISOString().slice(0, 10)]),
            ]),
          );
        return 0;
      }
      case 'add': {
        const role = roleFlag === undefined ? 'user' : parseRole(roleFlag);
        if (!role) {
          io.err('--role must be admin or user.');
          return EXIT_USAGE;
        }
        const user = await users.create({ username: name, password: await readPassword(io, password, true), role });
        io.out(green(`Created ${user.role} "${user.username}".`));
        return 0;
      }
      case 'passwd': {
        const user = await users.getByName(name);
        await users.resetPassword(user.id, await readPassword(io, password, true));
        io.out(green(`Password of "${user.username}" changed; their sessions were signed out.`));
        return 0;
      }
      case 'apikey': {
        const user = await users.getByName(name);
        // stdout carries only the secret, so scripts can capture it: KEY=$(earshot user apikey bob)
        io.out((await accounts.subsonic.createApiKey(user.id, label)).key);
        return 0;
      }
      case 'app-password': {
        const user = await users.getByName(name);
        io.out((await accounts.subsonic.createAppPassword(user.id, label)).password);
        return 0;
      }
      case 'role': {
        const role = parseRole(extra ?? roleFlag);
        if (!role) {
          io.err('Give the new role: earshot user role NAME admin|user');
          return EXIT_USAGE;
        }
        const user = await users.setRole((await users.getByName(name)).id, role);
        io.out(green(`"${user.username}" is now ${user.role}.`));
        return 0;
      }
      default: {
        const user = await users.getByName(name);
        if (!parsed.own.has('--yes')) {
          io.err(`This deletes "${user.username}" with their playlists, likes and history. Add --yes to confirm.`);
          return EXIT_USAGE;
        }
        await users.delete(user.id);
        io.out(green(`Deleted "${user.username}".`));
        return 0;
      }
    }
  } catch (err) {
    if (
      isDomainError(err) ||
      (err instanceof Error && err.message === 'The passwords do not match.') ||
      (err instanceof Error && err.message === 'Cancelled.')
    ) {
      io.err(red(err.message));
      return 1;
    }
    throw err;
  } finally {
    await database.close();
  }
}

export const userCommand: CliCommand = {
  name: 'user',
  summary: 'Manage accounts: add, list, passwd, role, delete; Subsonic apikey / app-password.',
  usage: USAGE,
  run(argv) {
    return runUserCommand(argv, {
      stdin: process.stdin,
      out: (line) => console.log(line),
      err: (line) => console.error(line),
    });
  },
};
