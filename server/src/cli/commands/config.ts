import { describeConfig } from '../../config/load.js';
import { SETTINGS } from '../../config/schema.js';
import { type CliCommand, EXIT_CONFIG, loadConfigForCli } from '../command.js';
import { bold, dim, table } from '../output.js';

export const configCommand: CliCommand = {
  name: 'config',
  summary: 'Print the effective configuration (secrets redacted) and where each value came from.',
  usage: 'earshot config [--json] [--help] [setting flags…]',
  async run(argv) {
    if (argv.includes('--help')) {
      console.log('Every setting can be given as an environment variable, in a .env file, or as a flag:\n');
      console.log(
        table([
          ['ENVIRONMENT', 'FLAG', 'DEFAULT', 'MEANING'],
          ...SETTINGS.map((s) => [
            s.env,
            s.flag,
            typeof s.default === 'function' ? '(derived)' : (s.default ?? ''),
            s.description,
          ]),
        ]),
      );
      return 0;
    }
    const parsed = loadConfigForCli(argv, ['--json']);
    if (!parsed) return EXIT_CONFIG;
    const rows = describeConfig(parsed.loaded);
    if (parsed.own.has('--json')) {
      console.log(JSON.stringify({ envFile: parsed.loaded.envFile ?? null, settings: rows }, null, 2));
      return 0;
    }
    console.log(
      bold('Effective Earshot configuration') + (parsed.loaded.envFile ? dim(` (.env: ${parsed.loaded.envFile})`) : ''),
    );
    console.log(table([['SETTING', 'VALUE', 'SOURCE'], ...rows.map((r) => [r.env, r.value, r.source])]));
    return 0;
  },
};
