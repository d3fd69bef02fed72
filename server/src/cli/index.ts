/**
 * `earshot <command> [options]` — entry point of the CLI.
 * @example earshot serve --port 9000
 * @example EARSHOT_DATA_DIR=/srv/music earshot doctor
 */
import { COMMANDS } from './commands.js';
import { bold } from './output.js';

function help(): void {
  console.log(`${bold('earshot')} — self-hosted music server\n\nUsage: earshot <command> [options]\n\nCommands:`);
  for (const c of COMMANDS) console.log(`  ${c.name.padEnd(10)} ${c.summary}`);
  console.log(
    '\nSettings come from EARSHOT_* environment variables, a .env file, or flags (see `earshot config --help`).',
  );
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    const entry = COMMANDS.find((c) => c.name === rest[0]);
    const cmd = entry ? await entry.load() : null;
    if (cmd) console.log(`${cmd.summary}\n${cmd.usage ? `\nUsage: ${cmd.usage}` : ''}`);
    else help();
    return 0;
  }
  if (first === '--version' || first === '-v') {
    const { VERSION } = await import('../shared/version.js');
    console.log(VERSION);
    return 0;
  }
  // No command, or only flags: serve.
  const name = !first || first.startsWith('-') ? 'serve' : first;
  const args = !first || first.startsWith('-') ? argv : rest;
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`Unknown command "${name}".\n`);
    help();
    return 64;
  }
  return (await command.load()).run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
