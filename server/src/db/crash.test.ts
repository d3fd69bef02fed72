/**
 * `kill -9` at any moment (Android kills Termux children this way) must leave a database that
 * opens, passes integrity_check and holds every transaction that was acknowledged as committed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVER_ROOT } from '../test/build.js';
import { checkIntegrity, openDatabase } from './database.js';

const WRITER = `
const { openDatabase } = await import(process.env.DB_MODULE);
const { migrateToLatest } = await import(process.env.MIGRATE_MODULE);
const opened = openDatabase(process.env.DB_FILE);
await migrateToLatest(opened.db);
const insert = opened.sqlite.prepare("insert into settings (key, value, updated_at) values (?, ?, ?)");
const batch = opened.sqlite.transaction((n) => { for (let i = 0; i < 50; i++) insert.run('k' + n + '-' + i, 'x'.repeat(200), Date.now()); });
let n = 0;
for (;;) { batch(n); n++; process.stdout.write('committed ' + n * 50 + '\\n'); if (n % 20 === 0) await new Promise((r) => setImmediate(r)); }
`;

describe('crash safety', () => {
  it('survives kill -9 during a stream of write transactions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-crash-'));
    const dbFile = join(dir, 'earshot.db');
    const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER], {
      env: {
        ...process.env,
        DB_FILE: dbFile,
        DB_MODULE: pathToFileURL(join(SERVER_ROOT, 'dist/db/database.js')).href,
        MIGRATE_MODULE: pathToFileURL(join(SERVER_ROOT, 'dist/db/migrate.js')).href,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // Kill once a good number of transactions has been acknowledged, mid-stream.
    const acknowledged = await new Promise<number>((resolve, reject) => {
      let last = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        const matches = chunk.toString().match(/committed (\d+)/g);
        if (matches) last = Number(matches[matches.length - 1].split(' ')[1]);
        if (last >= 20_000 && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve(last);
        }
      });
      child.once('exit', (code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`writer exited early (${code})`));
      });
    });
    await new Promise((resolve) =>
      child.exitCode !== null || child.signalCode ? resolve(null) : child.once('exit', resolve),
    );

    const reopened = openDatabase(dbFile);
    expect(checkIntegrity(reopened.sqlite, true)).toEqual(['ok']);
    const { count } = reopened.sqlite.prepare('select count(*) as count from settings').get() as { count: number };
    // Every acknowledged transaction survived (synchronous=NORMAL in WAL mode is durable against
    // process death; only a power cut may lose the last transactions), and no partial batch exists.
    expect(count).toBeGreaterThanOrEqual(acknowledged);
    expect(count % 50).toBe(0);
    await reopened.close();
  });
});
