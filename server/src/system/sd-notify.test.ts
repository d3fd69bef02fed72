import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Lifecycle } from '../shared/lifecycle.js';
import { CLI_BIN } from '../test/build.js';
import { startSdNotify } from './sd-notify.js';

/**
 * A fake systemd: a unix datagram socket (python3, since Node has no unix datagrams) printing each
 * notification it receives as one line, fields joined by "|".
 */
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("LISTENING", flush=True)
while True:
    data = s.recv(4096).decode()
    print("|".join(data.strip().split("\\n")), flush=True)
`;

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Resolves with the received lines once `done(lines)` is true. */
function collect(child: ChildProcess, done: (lines: string[]) => boolean): Promise<string[]> {
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
      if (done(lines)) resolve(lines);
    });
    child.once('exit', () => reject(new Error(`receiver exited; got ${lines.join(' / ')}`)));
  });
}

describe('sd_notify under a fake NOTIFY_SOCKET (the built CLI)', () => {
  it('sends READY=1, watchdog pings every half period while healthy, and STOPPING=1 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-notify-'));
    dirs.push(dir);
    const socketPath = join(dir, 'notify.sock');
    const receiver = spawn('python3', ['-c', RECEIVER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(receiver);
    await collect(receiver, (l) => l.includes('LISTENING'));
    const pings = collect(receiver, (l) => l.filter((x) => x.includes('WATCHDOG=1')).length >= 3);

    // systemd-notify as found on PATH, behind a wrapper that notes which process ran it.
    const real = execFileSync('sh', ['-c', 'command -v systemd-notify'], { encoding: 'utf8' }).trim();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const parents = join(dir, 'parents');
    writeFileSync(join(bin, 'systemd-notify'), `#!/bin/sh\necho "$PPID" >> '${parents}'\nexec '${real}' "$@"\n`);
    chmodSync(join(bin, 'systemd-notify'), 0o755);

    const server = spawn(process.execPath, [CLI_BIN, 'serve'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        EARSHOT_DATA_DIR: dir,
        EARSHOT_PORT: '0',
        EARSHOT_LOG_LEVEL: 'warn',
        EARSHOT_SCAN_ON_START: 'false',
        EARSHOT_WATCH: 'false',
        EARSHOT_BACKUP_INTERVAL_HOURS: '0',
        NOTIFY_SOCKET: socketPath,
        WATCHDOG_USEC: '400000',
      },
    });
    children.push(server);
    const received = await pings;
    const mine = `MAINPID=${server.pid}`;
    const ready = received.find((l) => l.includes('READY=1'));
    expect(ready).toContain('STATUS=Serving');
    expect(ready).toContain(mine);
    expect(received.filter((l) => l.includes('WATCHDOG=1')).every((l) => l.includes(mine))).toBe(true);
    // READY comes before the first ping.
    expect(received.findIndex((l) => l.includes('READY=1'))).toBeLessThan(
      received.findIndex((l) => l.includes('WATCHDOG=1')),
    );
    // Every run came from one helper process, a child of the server: the server itself did not
    // fork once per notification (a fork slows every request in flight; sd-notify.ts).
    const ranBy = readFileSync(parents, 'utf8').trim().split('\n');
    expect(ranBy.length).toBeGreaterThanOrEqual(4);
    expect(new Set(ranBy).size).toBe(1);
    expect(ranBy[0]).not.toBe(String(server.pid));
    const helperParent = readFileSync(`/proc/${ranBy[0]}/stat`, 'utf8').split(') ')[1].split(' ')[1];
    expect(helperParent).toBe(String(server.pid));

    // A helper that goes away is replaced at the next notification, and the pings go on.
    process.kill(Number(ranBy[0]), 'SIGKILL');
    const afterKill = collect(receiver, (l) => l.filter((x) => x.includes('WATCHDOG=1')).length >= 3);
    const linesAfter = await afterKill;
    expect(linesAfter.filter((l) => l.includes('WATCHDOG=1') && !l.includes(mine))).toEqual([]);
    const ranAll = readFileSync(parents, 'utf8').trim().split('\n');
    const helpers = [...new Set(ranAll)];
    expect(helpers).toHaveLength(2);
    expect(helpers[0]).toBe(ranBy[0]);
    expect(ranAll.at(-1)).toBe(helpers[1]);
    expect(readFileSync(`/proc/${helpers[1]}/stat`, 'utf8').split(') ')[1].split(' ')[1]).toBe(String(server.pid));

    const stopping = collect(receiver, (l) => l.some((x) => x.includes('STOPPING=1')));
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    expect((await stopping).find((l) => l.includes('STOPPING=1'))).toContain(mine);
    expect(await exited).toBe(0);
  });
});

describe('sd_notify when systemd-notify cannot run', () => {
  it('warns once, names why, and never holds up start or shutdown', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const lifecycle = new Lifecycle();
    startSdNotify({
      probe: async () => 1,
      logger,
      lifecycle,
      env: { NOTIFY_SOCKET: '/nonexistent/notify.sock', WATCHDOG_USEC: '100000', PATH: process.env.PATH },
      bin: '/nonexistent/systemd-notify',
    });
    // READY=1 and the pings after it (every 50 ms) fail: one warning, with the shell's reason.
    const warned = () => lines.filter((l) => l.includes('systemd-notify failed'));
    for (const until = Date.now() + 10_000; warned().length === 0 && Date.now() < until; )
      await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const warnings = warned();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/exit status 127.*not found/);
    await lifecycle.stop(2000);
    expect(lines.filter((l) => l.includes('systemd-notify failed'))).toHaveLength(1);
  });
});
