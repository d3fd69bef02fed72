/**
 * Loads the configuration from (highest priority first) CLI flags, the environment, an optional
 * `.env` file and the defaults; validates the result against {@link ConfigSchema} and reports
 * *every* problem at once.
 *
 * @example
 *   const { config, sources } = loadConfig({ argv: ['--port', '9000'], env: process.env });
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { keyFromFileText, secretKeyProblem } from './secret-key.js';
import { type Config, ConfigSchema, type ConfigKey, SETTINGS, type SettingSpec } from './schema.js';

export type ConfigSource = 'default' | '.env' | 'environment' | 'flag';

export interface LoadedConfig {
  config: Config;
  sources: Record<ConfigKey, ConfigSource | 'unset'>;
  /** Path of the `.env` file that was read, if any. */
  envFile?: string;
  /** Non-fatal notes, e.g. unknown EARSHOT_* variables. */
  warnings: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Earshot cannot start: ${problems.length} configuration problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Explicit `.env` path; defaults to `$EARSHOT_ENV_FILE` or `<cwd>/.env` when present. */
  envFile?: string | null;
}

/** Minimal `.env` parser: `KEY=value`, optional `export`, quotes, `#` comments. */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    out[m[1]] = value;
  }
  return out;
}

/** Parses `--flag value`, `--flag=value` and bare boolean `--flag` / `--no-flag`. */
export function parseFlags(argv: string[]): { values: Map<string, string>; problems: string[] } {
  const values = new Map<string, string>();
  const problems: string[] = [];
  const byFlag = new Map(SETTINGS.map((s) => [s.flag, s]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      problems.push(`Unexpected argument "${arg}".`);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq === -1 ? arg : arg.slice(0, eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    let negated = false;
    if (!byFlag.has(name) && name.startsWith('--no-') && byFlag.has(`--${name.slice(5)}`)) {
      name = `--${name.slice(5)}`;
      negated = true;
    }
    const spec = byFlag.get(name);
    if (!spec) {
      problems.push(`Unknown option ${name}. Run \`earshot config --help\` to list the settings.`);
      continue;
    }
    const isBool = (ConfigSchema.properties[spec.key] as TSchema).type === 'boolean';
    if (negated) value = 'false';
    else if (value === undefined) {
      const next = argv[i + 1];
      if (isBool && (next === undefined || next.startsWith('--'))) value = 'true';
      else if (next === undefined) {
        problems.push(`${name} needs a value.`);
        continue;
      } else {
        value = next;
        i++;
      }
    }
    values.set(spec.key, value);
  }
  return { values, problems };
}

function describeExpectation(schema: TSchema): string {
  if (schema.anyOf) {
    const literals = (schema.anyOf as TSchema[]).map((s) => s.const).filter((v) => v !== undefined);
    return `must be one of: ${literals.join(', ')}`;
  }
  switch (schema.type) {
    case 'integer': {
      const lo = schema.minimum;
      const hi = schema.maximum;
      if (lo !== undefined && hi !== undefined) return `must be a whole number from ${lo} to ${hi}`;
      if (lo !== undefined) return `must be a whole number of at least ${lo}`;
      return 'must be a whole number';
    }
    case 'boolean':
      return 'must be true or false';
    case 'array':
      return `must be a comma-separated list (${describeExpectation(schema.items as TSchema)} each)`;
    case 'string':
      if (schema.pattern) return 'must be an http(s) URL such as https://music.example.com (no trailing spaces)';
      if (schema.minLength && schema.minLength > 1) return `must be at least ${schema.minLength} characters long`;
      return 'must not be empty';
    default:
      return 'has an invalid value';
  }
}

function coerce(spec: SettingSpec, raw: string): unknown {
  const schema = ConfigSchema.properties[spec.key] as TSchema;
  if (spec.list) {
    // Separator lists keep their spaces (" / " differs from "/"); address lists are trimmed.
    const items = raw.split(',').filter((s) => s.trim() !== '');
    return spec.key === 'artistSeparators' ? items : items.map((s) => s.trim());
  }
  if (schema.type === 'integer') return /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : raw;
  if (schema.type === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    return raw;
  }
  return raw;
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const warnings: string[] = [];

  let envFile: string | undefined;
  let dotenv: Record<string, string> = {};
  const candidate =
    options.envFile === null ? undefined : (options.envFile ?? env.EARSHOT_ENV_FILE ?? resolve(cwd, '.env'));
  if (candidate && existsSync(candidate)) {
    try {
      dotenv = parseDotEnv(readFileSync(candidate, 'utf8'));
      envFile = candidate;
    } catch (err) {
      problems.push(`Could not read ${candidate}: ${(err as Error).message}`);
    }
  } else if (options.envFile || env.EARSHOT_ENV_FILE) {
    problems.push(`The .env file ${candidate} does not exist.`);
  }

  const flags = parseFlags(options.argv ?? []);
  problems.push(...flags.problems);

  const known = new Set(SETTINGS.map((s) => s.env));
  known.add('EARSHOT_ENV_FILE');
  // Set or read by scripts/earshot-serve.sh before node starts (README "Memory"), not settings.
  known.add('EARSHOT_ALLOCATOR');
  known.add('EARSHOT_PRELOADED');
  for (const name of Object.keys({ ...dotenv, ...env })) {
    if (name.startsWith('EARSHOT_') && !known.has(name) && !name.startsWith('EARSHOT_TEST_')) {
      warnings.push(`Ignoring unknown setting ${name}.`);
    }
  }

  const values: Record<string, unknown> = {};
  const sources = {} as LoadedConfig['sources'];
  for (const spec of SETTINGS) {
    let raw: string | undefined;
    let source: ConfigSource | 'unset' = 'unset';
    let origin = '';
    if (flags.values.has(spec.key)) {
      raw = flags.values.get(spec.key);
      source = 'flag';
      origin = spec.flag;
    } else if (env[spec.env] !== undefined) {
      raw = env[spec.env];
      source = 'environment';
      origin = spec.env;
    } else if (dotenv[spec.env] !== undefined) {
      raw = dotenv[spec.env];
      source = '.env';
      origin = `${spec.env} (in .env)`;
    } else if (spec.default !== undefined) {
      raw = typeof spec.default === 'function' ? spec.default(values) : spec.default;
      source = 'default';
      origin = `${spec.env} (default)`;
    }
    sources[spec.key] = source;
    if (raw === undefined) continue;
    const value = coerce(spec, raw);
    const schema = ConfigSchema.properties[spec.key] as TSchema;
    if (!Value.Check(schema, value)) {
      const shown = spec.secret ? '<redacted>' : JSON.stringify(raw);
      problems.push(`${origin}=${shown} ${describeExpectation(schema)}.`);
      continue;
    }
    values[spec.key] = value;
  }

  problems.push(...resolveSecretKey(values, cwd));
  if (problems.length > 0) throw new ConfigError(problems);
  if (values.secretKeyFile !== undefined) sources.secretKey = sources.secretKeyFile;

  for (const key of ['dataDir', 'musicDir', 'cacheDir', 'dbDir'] as const) {
    values[key] = resolve(cwd, String(values[key]));
  }
  if (typeof values.publicUrl === 'string') values.publicUrl = values.publicUrl.replace(/\/+$/, '');

  return { config: values as Config, sources, envFile, warnings };
}

/**
 * The server key from EARSHOT_SECRET_KEY or the file EARSHOT_SECRET_KEY_FILE names (read here, so
 * a missing or bad file stops the start with the other problems); checked the same way either way.
 * Problems name the variable or the file, never the key.
 */
function resolveSecretKey(values: Record<string, unknown>, cwd: string): string[] {
  const file = values.secretKeyFile;
  if (typeof file === 'string') {
    if (values.secretKey !== undefined)
      return ['EARSHOT_SECRET_KEY and EARSHOT_SECRET_KEY_FILE are both set; keep one of them.'];
    const path = resolve(cwd, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      return [`EARSHOT_SECRET_KEY_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}).`];
    }
    const key = keyFromFileText(text);
    const problem = secretKeyProblem(key);
    if (problem) return [`The server key in ${path} (EARSHOT_SECRET_KEY_FILE) ${problem}.`];
    values.secretKeyFile = path;
    values.secretKey = key;
    return [];
  }
  if (typeof values.secretKey === 'string') {
    const problem = secretKeyProblem(values.secretKey);
    if (problem) return [`EARSHOT_SECRET_KEY ${problem}.`];
  }
  return [];
}

/** The effective configuration as printable rows, secrets redacted. */
export function describeConfig(loaded: LoadedConfig): { key: string; env: string; value: string; source: string }[] {
  return SETTINGS.map((spec) => {
    const v = loaded.config[spec.key];
    let value: string;
    if (v === undefined) value = '(not set)';
    else if (spec.secret) value = '<redacted>';
    else if (Array.isArray(v)) value = v.map((x) => JSON.stringify(x)).join(', ') || '(empty)';
    else value = String(v);
    return { key: spec.key, env: spec.env, value, source: loaded.sources[spec.key] };
  });
}
