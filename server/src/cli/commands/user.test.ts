import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, testDatabaseUrl } from '../../test/harness.js';
import { runUserCommand } from './user.js';
import { forEachServerEngine } from '../../test/engines.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function io(stdinText = '') {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { stdin: Readable.from([stdinText]), out: (l: string) => out.push(l), err: (l: string) => err.push(l) },
  };
}

forEachServerEngine(() => {
  describe('earshot user', () => {
    it('adds, lists, changes password (stdin), role and deletes users on the database; the server then uses them', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'earshot-user-cli-'));
      dirs.push(dir);
      // On PostgreSQL the CLI and the server meet in a fresh database (--database-url).
      const databaseUrl = await testDatabaseUrl();
      const db = databaseUrl ? ['--database-url', databaseUrl] : [];
      const run = async (args: string[], stdin = '') => {
        const r = io(stdin);
        const code = await runUserCommand([...args, '--data-dir', dir, ...db, '--log-level', 'silent'], r.io);
        return { code, out: r.out.join('\n'), err: r.err.join('\n') };
      };

      expect(await run(['add', 'Root', '--role', 'admin', '--password', 'root-password'])).toMatchObject({
        code: 0,
        out: expect.stringContaining('Created admin "Root"'),
      });
      expect(await run(['add', 'kid'], 'kid-password\nignored second line\n')).toMatchObject({ code: 0 });
      const dup = await run(['add', 'ROOT', '--password', 'whatever-pw']);
      expect(dup.code).toBe(1);
      expect(dup.err).toContain('taken');
      const weak = await run(['add', 'x', '--password', 'short']);
      expect(weak).toMatchObject({ code: 1, err: expect.stringContaining('at least 8 characters') });
      expect((await run(['add', 'y', '--role', 'owner', '--password', 'long enough'])).code).toBe(64);

      const list = await run(['list']);
      expect(list.out).toMatch(/Root\s+admin/);
      expect(list.out).toMatch(/kid\s+user/);

      expect((await run(['passwd', 'KID'], 'new-kid-password\n')).code).toBe(0);
      expect((await run(['role', 'kid', 'admin'])).out).toContain('"kid" is now admin');
      expect((await run(['delete', 'kid'])).code).toBe(64); // needs --yes
      expect((await run(['delete', 'kid', '--yes'])).code).toBe(0);
      const last = await run(['role', 'root', 'user']);
      expect(last).toMatchObject({ code: 1, err: expect.stringContaining('last administrator') });
      expect((await run(['passwd', 'nobody', '--password', 'long enough'])).code).toBe(1);
      expect((await run(['frobnicate'])).code).toBe(64);

      await run(['add', 'kid', '--password', 'kid-password-2']);
      const t = await startTestServer({ dir, databaseUrl });
      try {
        const ok = await t.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { username: 'root', password: 'root-password' },
        });
        expect(ok.json()).toMatchObject({ username: 'Root', role: 'admin' });
        const status = await t.app.inject({ url: '/auth/status' });
        expect(status.json().setupRequired).toBe(false);
      } finally {
        await t.close();
      }
    });

    it('apikey / app-password print a new credential on stdout that the Subsonic API accepts', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'earshot-user-cli-'));
      dirs.push(dir);
      const databaseUrl = await testDatabaseUrl();
      const db = databaseUrl ? ['--database-url', databaseUrl] : [];
      const run = async (args: string[]) => {
        const r = io();
        const code = await runUserCommand([...args, '--data-dir', dir, ...db, '--log-level', 'silent'], r.io);
        return { code, out: r.out.join('\n'), err: r.err.join('\n') };
      };
      expect((await run(['add', 'dan', '--password', 'dan-password'])).code).toBe(0);
      const key = await run(['apikey', 'DAN', '--label', 'Car']);
      expect(key.code).toBe(0);
      expect(key.out).toMatch(/^[A-Za-z0-9]{40}$/);
      const pw = await run(['app-password', 'dan']);
      expect(pw.out).toMatch(/^[a-z0-9]{5}(-[a-z0-9]{5}){3}$/);
      expect((await run(['apikey', 'nobody'])).code).toBe(1);
      const t = await startTestServer({ dir, databaseUrl });
      try {
        const byKey = await t.app.inject({ url: `/rest/ping?apiKey=${key.out}&v=1.16.1&c=cli&f=json` });
        expect(byKey.json()['subsonic-response'].status).toBe('ok');
        const byPw = await t.app.inject({ url: `/rest/ping?u=dan&p=${pw.out}&v=1.16.1&c=cli&f=json` });
        expect(byPw.json()['subsonic-response'].status).toBe('ok');
        const session = await t.earshot.database.db
          .selectFrom('users')
          .select('id')
          .where('username', '=', 'dan')
          .executeTakeFirstOrThrow();
        const keys = await t.earshot.accounts.subsonic.listApiKeys(session.id);
        expect(keys).toMatchObject([{ label: 'Car' }]);
      } finally {
        await t.close();
      }
    });
  });
});
