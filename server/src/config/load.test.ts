import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig, parseDotEnv } from './load.js';

const cwd = mkdtempSync(join(tmpdir(), 'earshot-config-'));
const load = (env: Record<string, string>, argv: string[] = [], envFile: string | null = null) =>
  loadConfig({ env, argv, cwd, envFile });

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('has the documented defaults, with data folders under ./data', () => {
    const { config, sources } = load({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8000);
    expect(config.dataDir).toBe(join(cwd, 'data'));
    expect(config.musicDir).toBe(join(cwd, 'data', 'library'));
    expect(config.cacheDir).toBe(join(cwd, 'data', 'cache'));
    expect(config.dbDir).toBe(join(cwd, 'data', 'db'));
    expect(config.registration).toBe('closed');
    expect(config.publicUrl).toBeUndefined();
    expect(sources.port).toBe('default');
  });

  it('reports every bad value at once, in plain words naming each variable', () => {
    const problems = problemsOf(() =>
      load({
        EARSHOT_PORT: 'abc',
        EARSHOT_HOST: '',
        EARSHOT_LOG_LEVEL: 'loud',
        EARSHOT_PUBLIC_URL: 'music.example.com',
        EARSHOT_WATCH: 'maybe',
      }),
    );
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toContain('EARSHOT_PORT="abc" must be a whole number from 0 to 65535');
    expect(problems.join('\n')).toContain('EARSHOT_HOST="" must not be empty');
    expect(problems.join('\n')).toContain(
      'EARSHOT_LOG_LEVEL="loud" must be one of: fatal, error, warn, info, debug, trace, silent',
    );
    expect(problems.join('\n')).toContain('EARSHOT_PUBLIC_URL="music.example.com" must be an http(s) URL');
    expect(problems.join('\n')).toContain('EARSHOT_WATCH="maybe" must be true or false');
  });

  it('the error message lists all problems in one text', () => {
    try {
      load({ EARSHOT_PORT: '70000', EARSHOT_REGISTRATION: 'everyone' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/2 configuration problems/);
      expect((err as Error).message).toContain('EARSHOT_PORT');
      expect((err as Error).message).toContain('EARSHOT_REGISTRATION');
    }
  });

  it('flags beat the environment, which beats .env, which beats defaults', () => {
    const envFile = join(cwd, 'test.env');
    writeFileSync(
      envFile,
      '# comment\nEARSHOT_PORT=8100\nexport EARSHOT_LOG_LEVEL="debug"\nEARSHOT_HOST=0.0.0.0 # LAN\n',
    );
    const { config, sources } = load({ EARSHOT_PORT: '8200' }, ['--port', '8300'], envFile);
    expect(config.port).toBe(8300);
    expect(sources.port).toBe('flag');
    expect(config.logLevel).toBe('debug');
    expect(sources.logLevel).toBe('.env');
    expect(config.host).toBe('0.0.0.0');
    const fromEnv = load({ EARSHOT_PORT: '8200' }, [], envFile);
    expect(fromEnv.config.port).toBe(8200);
    expect(fromEnv.sources.port).toBe('environment');
  });

  it('derives the sub-folders from EARSHOT_DATA_DIR unless each is set', () => {
    const { config } = load({ EARSHOT_DATA_DIR: '/srv/earshot', EARSHOT_MUSIC_DIR: '/share/e-music/library' });
    expect(config.musicDir).toBe('/share/e-music/library');
    expect(config.cacheDir).toBe('/srv/earshot/cache');
    expect(config.dbDir).toBe('/srv/earshot/db');
  });

  it('parses flags in both forms, booleans and lists', () => {
    const { config } = load({}, [
      '--port=9001',
      '--no-watch',
      '--metrics',
      '--trusted-proxies',
      '127.0.0.1, 10.0.0.0/8',
    ]);
    expect(config.port).toBe(9001);
    expect(config.watch).toBe(false);
    expect(config.metricsEnabled).toBe(true);
    expect(config.trustedProxies).toEqual(['127.0.0.1', '10.0.0.0/8']);
  });

  it('rejects unknown flags and flags without values', () => {
    const problems = problemsOf(() => load({}, ['--prot', '9000', '--host']));
    expect(problems).toEqual([
      'Unknown option --prot. Run `earshot config --help` to list the settings.',
      'Unexpected argument "9000".',
      '--host needs a value.',
    ]);
  });

  it('keeps separator lists verbatim (" / " is not "/")', () => {
    expect(load({}).config.artistSeparators).toEqual([';', ' / ']);
  });

  it('redacts secrets when describing the configuration', () => {
    const secret = 'k3Y-5ecret-for-th3-redaction-test-0123456789';
    const rows = describeConfig(load({ EARSHOT_SECRET_KEY: secret }));
    const row = rows.find((r) => r.env === 'EARSHOT_SECRET_KEY');
    expect(row).toMatchObject({ value: '<redacted>', source: 'environment' });
    expect(JSON.stringify(rows)).not.toContain(secret);
    // A bad secret is reported without echoing it.
    const problems = problemsOf(() => load({ EARSHOT_SECRET_KEY: 'short-secret' }));
    expect(problems[0]).toContain('<redacted>');
    expect(problems[0]).not.toContain('short-secret');
  });

  it('reads the server key from a mounted file and checks it like the variable, never echoing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-key-'));
    const key = 'Zm9vYmFyYmF6cXV4LXJlcGxpY2Etc2hhcmVkLWtleS0xMjM0NTY3ODk';
    writeFileSync(join(dir, 'key'), `${key}\n`);
    const loaded = load({ EARSHOT_SECRET_KEY_FILE: join(dir, 'key') });
    expect(loaded.config.secretKey).toBe(key); // the trailing newline of `echo … > key` is not part of it
    expect(loaded.sources.secretKey).toBe('environment');
    expect(JSON.stringify(describeConfig(loaded))).not.toContain(key);
    // Relative paths resolve against the working directory, like the data folders.
    writeFileSync(join(cwd, 'relative.key'), key);
    expect(load({ EARSHOT_SECRET_KEY_FILE: 'relative.key' }).config.secretKey).toBe(key);

    const bad = (content: string) => {
      writeFileSync(join(dir, 'bad'), content);
      return problemsOf(() => load({ EARSHOT_SECRET_KEY_FILE: join(dir, 'bad') }));
    };
    expect(bad('too-short-key')[0]).toMatch(
      /bad \(EARSHOT_SECRET_KEY_FILE\) is 13 characters long; it needs at least 32/,
    );
    expect(bad(`${key.slice(0, 20)}\n${key.slice(20)}`)[0]).toMatch(/line break/);
    expect(bad('change-me'.repeat(5))[0]).toMatch(/placeholder/);
    for (const content of ['too-short-key', `${key.slice(0, 20)}\n${key.slice(20)}`, 'change-me'.repeat(5)])
      expect(bad(content).join()).not.toContain(content.slice(0, 9));

    expect(problemsOf(() => load({ EARSHOT_SECRET_KEY_FILE: join(dir, 'missing') }))).toEqual([
      `EARSHOT_SECRET_KEY_FILE: cannot read ${join(dir, 'missing')} (ENOENT).`,
    ]);
    expect(problemsOf(() => load({ EARSHOT_SECRET_KEY_FILE: join(dir, 'key'), EARSHOT_SECRET_KEY: key }))).toEqual([
      'EARSHOT_SECRET_KEY and EARSHOT_SECRET_KEY_FILE are both set; keep one of them.',
    ]);
    // The variable gets the same checks as the file.
    expect(problemsOf(() => load({ EARSHOT_SECRET_KEY: 'x'.repeat(40) }))[0]).toMatch(
      /^EARSHOT_SECRET_KEY uses fewer than 10 different characters/,
    );
    // Unset: no key in the configuration (the server generates and keeps its own, as before).
    expect(load({}).config.secretKey).toBeUndefined();
  });

  it('warns about unknown EARSHOT_* variables instead of silently ignoring typos', () => {
    const { warnings } = load({ EARSHOT_PROT: '9000' });
    expect(warnings).toEqual(['Ignoring unknown setting EARSHOT_PROT.']);
    // The launcher's own variable (scripts/earshot-serve.sh) is known, not a typo.
    expect(load({ EARSHOT_ALLOCATOR: 'system' }).warnings).toEqual([]);
  });

  it('parses .env quoting and comments', () => {
    expect(parseDotEnv('A=1\n# x\nB="two words"\nC=\'x # y\'\nD=v # trailing\n')).toEqual({
      A: '1',
      B: 'two words',
      C: 'x # y',
      D: 'v',
    });
  });
});
