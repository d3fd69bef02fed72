import type { TSchema } from '@sinclair/typebox';
import { ConfigError, type LoadedConfig, loadConfig } from '../config/load.js';
import { ConfigSchema, SETTINGS } from '../config/schema.js';
import { red, yellow } from './output.js';

export interface CliCommand {
  name: string;
  summary: string;
  /** Extra usage lines shown by `earshot help <command>`. */
  usage?: string;
  /** Returns the process exit code. `argv` are the arguments after the command name. */
  run(argv: string[]): Promise<number>;
}

/** Exit code for invalid configuration or usage (like sysexits' EX_USAGE/EX_CONFIG). */
export const EXIT_CONFIG = 78;

/**
 * Splits command-specific arguments (e.g. `--full`) from configuration flags and loads the config.
 * Prints every configuration problem at once and returns null on failure.
 */
export function loadConfigForCli(
  argv: string[],
  ownFlags: string[] = [],
): { loaded: LoadedConfig; own: Set<string>; rest: string[] } | null {
  const own = new Set<string>();
  const configArgs: string[] = [];
  const rest: string[] = [];
  const valueFlags = new Set(
    SETTINGS.filter((s) => (ConfigSchema.properties[s.key] as TSchema).type !== 'boolean').map((s) => s.flag),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (ownFlags.includes(arg)) own.add(arg);
    else if (valueFlags.has(arg) && i + 1 < argv.length) {
      configArgs.push(arg, argv[i + 1]);
      i++;
    } else if (arg.startsWith('-')) configArgs.push(arg);
    else rest.push(arg);
  }
  try {
    const loaded = loadConfig({ argv: configArgs });
    for (const w of loaded.warnings) console.error(yellow(`warning: ${w}`));
    return { loaded, own, rest };
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(red(err.message));
      console.error(
        'Fix the values above (environment, .env or flags) and try again. `earshot config --help` lists every setting.',
      );
      return null;
    }
    throw err;
  }
}
