import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEarshot } from '../../main.js';
import { createLogger } from '../../shared/logger.js';
import { testConfig } from '../../test/harness.js';
import { DEPLOY, haveTool } from '../../test/deploy.js';

const FILTER = join(DEPLOY, 'fail2ban/filter.d/earshot.conf');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('fail2ban filter (deploy/fail2ban) against the lines the server prints', () => {
  it('matches every failed and throttled sign-in with the client address, and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-f2b-'));
    dirs.push(dir);
    const logFile = join(dir, 'earshot.log');
    const fd = openSync(logFile, 'w');
    const logger = createLogger({ level: 'info', format: 'json', destination: fd });
    const earshot = await createEarshot(testConfig(dir, { EARSHOT_TRUSTED_PROXIES: '127.0.0.1' }), {
      logger,
      background: false,
    });
    const base = await earshot.app.listen({ host: '127.0.0.1', port: 0 });
    const login = (password: string, ip: string, username = 'nobody') =>
      fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
        body: JSON.stringify({ username, password }),
      });
    let failed = 0;
    let throttled = 0;
    for (let i = 0; i < 40 && throttled < 2; i++) {
      const res = await login(`guess-${i}`, '203.0.113.9');
      if (res.status === 401) failed++;
      else if (res.status === 429) throttled++;
      else throw new Error(`unexpected ${res.status}`);
    }
    expect(failed).toBeGreaterThan(0);
    expect(throttled).toBe(2);
    // Another client, another name: its own failure line (401, or 429 under a stricter policy).
    expect([401, 429]).toContain((await login('one-more', '198.51.100.7', 'somebody')).status);
    await earshot.close();
    await new Promise<void>((resolve, reject) => logger.flush((err) => (err ? reject(err) : resolve())));
    closeSync(fd);

    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    // Levels as words, for Loki and fail2ban.
    expect(lines.every((l) => /^\{"level":"(trace|debug|info|warn|error|fatal)"/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes('"msg":"sign-in failed"'))).toBe(true);
    expect(lines.join('\n')).not.toContain('guess-');

    if (!haveTool('fail2ban-regex', 'fail2ban')) return;
    const out = execFileSync('fail2ban-regex', ['--print-all-matched', logFile, FILTER], { encoding: 'utf8' });
    const summary = /Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed/.exec(out);
    expect(summary, out).not.toBeNull();
    expect(Number(summary![3])).toBe(failed + throttled + 1);
    expect(Number(summary![1])).toBe(lines.length);
    expect(out).toMatch(/"time":\{LEPOCH\}/);
    const matchedIps = [...out.matchAll(/"event":"login_\w+".*?"ip":"([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(matchedIps)).toEqual(new Set(['203.0.113.9', '198.51.100.7']));
  });
});
