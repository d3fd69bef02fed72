/**
 * mpd as a yardstick for the scan bench: the same library, scanned by the Music Player Daemon in
 * the same run. mpd gets its own config in a temp dir (music_directory, db_file, state, a loopback
 * port, a null audio output); with no database file it scans the whole folder at start-up. The
 * scan's end is read over its protocol on loopback (`status` shows `updating_db` while it runs,
 * `stats` the song count and `db_update` after), its CPU and memory from /proc.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MpdFigures {
  version: string;
  songs: number;
  fullScanSeconds: number;
  filesPerSecond: number;
  cpuMsPerFile: number;
  rescanSeconds: number;
  peakRss: number;
  idleRss: number;
}

/** mpd's path, or null when it is not installed. */
export function findMpd(): { path: string; version: string } | null {
  for (const path of ['/usr/bin/mpd', '/usr/local/bin/mpd', '/usr/sbin/mpd']) {
    try {
      const out = execFileSync(path, ['--version'], { encoding: 'utf8' });
      return { path, version: /Music Player Daemon ([^\s]+)/.exec(out)?.[1] ?? 'unknown' };
    } catch {}
  }
  return null;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** A line-protocol client: `ask(command)` resolves with the response's `key: value` pairs. */
async function client(
  port: number,
  child: ChildProcess,
): Promise<{ ask(cmd: string): Promise<Map<string, string>>; close(): void }> {
  let socket: Socket | null = null;
  const deadline = Date.now() + 30_000;
  while (!socket) {
    if (child.exitCode !== null) throw new Error(`mpd exited (${child.exitCode})`);
    socket = await new Promise<Socket | null>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(null));
    });
    if (!socket) {
      if (Date.now() > deadline) throw new Error('mpd did not listen within 30 s');
      await new Promise((r) => setTimeout(r, 20)); // mpd is starting: retry the connection
    }
  }
  const s = socket;
  let buffer = '';
  let waiting: ((lines: string[]) => void) | null = null;
  const greeting = new Promise<void>((resolve) => {
    waiting = () => resolve();
  });
  let greeted = false;
  s.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    if (!greeted) {
      const nl = buffer.indexOf('\n'); // "OK MPD <protocol version>"
      if (nl < 0) return;
      buffer = buffer.slice(nl + 1);
      greeted = true;
      const w = waiting;
      waiting = null;
      w?.([]);
      return;
    }
    const end = buffer.search(/^(OK|ACK.*)$\n/m);
    if (end < 0 || !waiting) return;
    const stop = buffer.indexOf('\n', end) + 1;
    const lines = buffer.slice(0, stop).split('\n');
    buffer = buffer.slice(stop);
    const w = waiting;
    waiting = null;
    w(lines);
  });
  await greeting;
  return {
    ask: (cmd) =>
      new Promise((resolve) => {
        waiting = (lines) =>
          resolve(
            new Map(
              lines
                .filter((l) => l.includes(': '))
                .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
            ),
          );
        s.write(`${cmd}\n`);
      }),
    close: () => s.destroy(),
  };
}

const procStatus = (pid: number, key: string) =>
  Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, clock ticks (USER_HZ 100)
}

/** Polls `status` until mpd's database update is over (the protocol has no "done" push for it). */
async function updateDone(mpd: { ask(cmd: string): Promise<Map<string, string>> }): Promise<void> {
  for (;;) {
    const status = await mpd.ask('status');
    if (!status.has('updating_db')) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Full scan (fresh database), then a no-change `update`; the daemon is stopped after. */
export async function runMpd(mpdPath: string, library: string, version: string): Promise<MpdFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-bench-mpd-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'mpd.conf'),
    [
      `music_directory "${library}"`,
      `db_file "${join(dir, 'db')}"`,
      `state_file "${join(dir, 'state')}"`,
      `sticker_file "${join(dir, 'sticker.sql')}"`,
      `log_file "${join(dir, 'log')}"`,
      `pid_file "${join(dir, 'pid')}"`,
      'bind_to_address "127.0.0.1"',
      `port "${port}"`,
      'auto_update "no"',
      'zeroconf_enabled "no"',
      'audio_output {\n  type "null"\n  name "null"\n}',
      '',
    ].join('\n'),
  );
  const started = performance.now();
  const child = spawn(mpdPath, ['--no-daemon', join(dir, 'mpd.conf')], { stdio: 'ignore' });
  const pid = child.pid as number;
  try {
    const mpd = await client(port, child);
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, procStatus(pid, 'VmRSS'));
    }, 25);
    await updateDone(mpd);
    const fullScanSeconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(pid);
    clearInterval(sampler);
    peak = Math.max(peak, procStatus(pid, 'VmHWM'));
    const songs = Number((await mpd.ask('stats')).get('songs') ?? 0);
    const t1 = performance.now();
    await mpd.ask('update');
    await updateDone(mpd);
    const rescanSeconds = (performance.now() - t1) / 1000;
    await new Promise((r) => setTimeout(r, 1500)); // idle, as the server's idle RSS is taken
    const idleRss = procStatus(pid, 'VmRSS');
    mpd.close();
    return {
      version,
      songs,
      fullScanSeconds,
      filesPerSecond: songs / fullScanSeconds,
      cpuMsPerFile: (cpu * 1000) / Math.max(1, songs),
      rescanSeconds,
      peakRss: peak,
      idleRss,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
}
