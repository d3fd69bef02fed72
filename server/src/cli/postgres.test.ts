/**
 * The CLI on PostgreSQL (EARSHOT_DATABASE_URL, the run's throwaway cluster; the built binary as
 * users run it): `migrate` and `user` open the database through the engine, `doctor` shows the
 * URL with its password masked and checks that the server answers (and says so when it does not),
 * `backup`/`restore` point at pg_dump with exit code 78 instead of copying a file that is not there.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectDatabase } from '../db/engine.js';
import { MIGRATIONS } from '../db/migrate.js';
import { CLI_BIN } from '../test/build.js';
import { createTestDatabase } from '../test/postgres.js';
import { runUserCommand } from './commands/user.js';

const created = await createTestDatabase({ url: inject('pgUrl'), skipReason: inject('pgSkipReason') }, 'cli');
const dir = mkdtempSync(join(tmpdir(), 'earshot-pg-cli-'));
afterAll(async () => {
  await created?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** The test cluster trusts loopback, so a password in the URL is accepted and must never be shown. */
const SECRET = 'hunter2-not-for-logs';
function urlWithPassword(raw: string): string {
  const u = new URL(raw);
  u.password = SECRET;
  return u.toString();
}

function cli(args: string[], url: string) {
  const r = spawnSync(process.execPath, [CLI_BIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH, NO_COLOR: '1', EARSHOT_DATA_DIR: dir, EARSHOT_DATABASE_URL: url },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!created)('the CLI on PostgreSQL', () => {
  it('migrate creates the schema there (not a SQLite file), and says so with the password masked', () => {
    const url = urlWithPassword(created?.url ?? '');
    const first = cli(['migrate'], url);
    expect(first.out).not.toContain(SECRET);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain(':***@');
    expect(first.out).toContain('applied 0020_job_leases');
    const again = cli(['migrate'], url);
    expect(again.out).toContain(`Up to date (${Object.keys(MIGRATIONS).length} migrations applied earlier)`);
  });

  it('user add/list work on the PostgreSQL database', async () => {
    const url = urlWithPassword(created?.url ?? '');
    const out: string[] = [];
    const io = { stdin: Readable.from(['']), out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    const base = ['--data-dir', dir, '--log-level', 'silent', '--database-url', url];
    expect(
      await runUserCommand(['add', 'pgadmin', '--role', 'admin', '--password', 'long enough pw', ...base], io),
    ).toBe(0);
    expect(await runUserCommand(['list', ...base], io)).toBe(0);
    expect(out.join('\n')).toMatch(/pgadmin\s+admin/);
    const database = await connectDatabase({ url, path: '' });
    try {
      const row = await database.db.selectFrom('users').select(['username', 'role']).executeTakeFirstOrThrow();
      expect(row).toEqual({ username: 'pgadmin', role: 'admin' });
    } finally {
      await database.close();
    }
  });

  it('doctor checks the connection and shows the masked URL; a server that does not answer fails it', () => {
    const url = urlWithPassword(created?.url ?? '');
    const ok = cli(['doctor'], url);
    expect(ok.out).not.toContain(SECRET);
    expect(ok.out).toMatch(/✓ PostgreSQL \d+[.\d]* answers at postgres:\/\/[^ ]*:\*\*\*@/);
    expect(ok.out).toContain(`${Object.keys(MIGRATIONS).length} migrations applied`);

    const down = new URL(url);
    down.port = '1'; // nothing listens on port 1 of the loopback
    const bad = cli(['doctor'], down.toString());
    expect(bad.code).toBe(1);
    expect(bad.out).not.toContain(SECRET);
    expect(bad.out).toMatch(/✗ PostgreSQL at postgres:\/\/[^ ]*:\*\*\*@127\.0\.0\.1:1\/[^ ]* does not answer/);
  });

  it('backup and restore refuse with exit code 78 and point at pg_dump / pg_restore', () => {
    const url = urlWithPassword(created?.url ?? '');
    const backup = cli(['backup'], url);
    expect(backup.code).toBe(78);
    expect(backup.out).toContain('pg_dump --format=custom');
    expect(backup.out).not.toContain(SECRET);
    const restore = cli(['restore', join(dir, 'x.db')], url);
    expect(restore.code).toBe(78);
    expect(restore.out).toContain('pg_restore');
  });
});
