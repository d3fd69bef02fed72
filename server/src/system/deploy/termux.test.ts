/**
 * deploy/termux and deploy/systemd without a phone: the watchdog really kills a server that stops
 * answering /healthz (run under sh against a real HTTP server process), and the boot and install
 * scripts parse and do what docs/deploy.md says they do.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEPLOY, haveTool } from '../../test/deploy.js';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** An HTTP server that answers /healthz `healthy` times, then hangs (accepts, never answers). */
function fakeServer(healthy: number): Promise<{ child: ChildProcess; url: string }> {
  const code = `
    let n = 0;
    const s = require('node:http').createServer((req, res) => {
      if (++n <= ${healthy}) res.end('ok');
    });
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));
    process.on('SIGTERM', () => { console.log('TERM'); process.exit(143); });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve) =>
    child.stdout!.once('data', (d: Buffer) =>
      resolve({ child, url: `http://127.0.0.1:${d.toString().trim()}/healthz` }),
    ),
  );
}

const WATCHDOG = join(DEPLOY, 'termux/watchdog.sh');
const FAST = {
  EARSHOT_WATCHDOG_GRACE: '0',
  EARSHOT_WATCHDOG_INTERVAL: '0.2',
  EARSHOT_WATCHDOG_FAILS: '2',
  EARSHOT_WATCHDOG_TIMEOUT: '1',
};

describe('Termux health watchdog (deploy/termux/watchdog.sh)', () => {
  it('kills a server that stops answering /healthz, after FAILS failures in a row', async (ctx) => {
    if (!haveTool('curl', 'curl')) return ctx.skip();
    const { child, url } = await fakeServer(3);
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ?? code)),
    );
    // Spawned, not spawnSync: a blocked event loop would not reap the killed server, whose zombie
    // still answers `kill -0`, so the watchdog would wait its full 10 s grace for nothing.
    const dog = spawn('sh', [WATCHDOG, String(child.pid), url], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH, ...FAST },
    });
    children.push(dog);
    let stderr = '';
    dog.stderr!.on('data', (d) => {
      stderr += d;
    });
    const status = await new Promise<number | null>((resolve) => dog.once('close', (code) => resolve(code)));
    expect(status).toBe(0);
    expect(await exited).toBe(143);
    const failures = stderr.split('\n').filter((l) => l.includes('failed ('));
    expect(failures).toHaveLength(2);
    expect(stderr).toContain(`killing hung server ${child.pid}`);
  });

  it('ends by itself when the server is gone (the boot loop starts a new pair)', async () => {
    const { child, url } = await fakeServer(1_000_000);
    const dog = spawn('sh', [WATCHDOG, String(child.pid), url], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH, ...FAST },
    });
    children.push(dog);
    let stderr = '';
    dog.stderr!.on('data', (d) => {
      stderr += d;
    });
    const done = new Promise<number | null>((resolve) => dog.once('exit', (code) => resolve(code)));
    child.kill('SIGKILL');
    expect(await done).toBe(0);
    expect(stderr).not.toContain('killing');
  });
});

describe('Termux boot and install scripts', () => {
  const boot = readFileSync(join(DEPLOY, 'termux/earshot-boot.sh'), 'utf8');
  const install = readFileSync(join(DEPLOY, 'termux/install.sh'), 'utf8');

  it.each(['earshot-boot.sh', 'install.sh', 'watchdog.sh'])('%s parses (sh -n)', (file) => {
    const r = spawnSync('sh', ['-n', join(DEPLOY, 'termux', file)], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('boot: wake lock first, Earshot and cloudflared each in a restart loop, the watchdog on /healthz', () => {
    expect(boot.split('\n').find((l) => l.trim() && !l.startsWith('#'))).toBe('termux-wake-lock');
    expect(boot).toMatch(/while true; do\s+sh scripts\/earshot-serve\.sh/);
    expect(boot).toMatch(/sh deploy\/termux\/watchdog\.sh "\$server" "http:\/\/127\.0\.0\.1:\$port\/healthz"/);
    expect(boot).toMatch(
      /while true; do\s+TUNNEL_TOKEN="\$CLOUDFLARE_TUNNEL_TOKEN" cloudflared tunnel --no-autoupdate run/,
    );
  });

  it('install: build tools for better-sqlite3, no sharp install script, the boot script in place', () => {
    expect(install).toMatch(/pkg install -y nodejs-lts python make clang/);
    expect(install).toMatch(/ffmpeg/);
    expect(install).toContain('pip install --upgrade yt-dlp');
    expect(install).toContain('npm ci --ignore-scripts');
    expect(install).toContain('npm rebuild better-sqlite3');
    expect(install).toContain('cp deploy/termux/earshot-boot.sh "$HOME/.termux/boot/earshot-boot.sh"');
  });
});

describe('systemd unit (deploy/systemd/earshot.service)', () => {
  it('is Type=notify with a watchdog and restarts', () => {
    const unit = readFileSync(join(DEPLOY, 'systemd/earshot.service'), 'utf8');
    for (const line of ['Type=notify', 'NotifyAccess=all', 'WatchdogSec=30', 'Restart=on-failure'])
      expect(unit.split('\n')).toContain(line);
    if (spawnSync('systemd-analyze', ['--version']).status === 0) {
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(DEPLOY, 'systemd/earshot.service')], {
        encoding: 'utf8',
      });
      // Only unit syntax matters here: the paths (/opt/earshot, user earshot) do not exist on CI.
      expect(r.stderr).not.toMatch(/Unknown (key|section)|Failed to parse/);
    }
  });
});
