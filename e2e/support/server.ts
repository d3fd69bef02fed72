/**
 * Starts the real built server (`node server/bin/earshot.js serve`) as a child process on a temp
 * data dir and an ephemeral port, the way users run it. The address and the first-run setup
 * token are read from its JSON log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './build.js';

export interface RunningServer {
  base: string;
  setupToken: string | null;
  log: string[];
  stop(): Promise<void>;
}

export async function startServer(dataDir: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'server', 'bin', 'earshot.js'), 'serve'], {
    cwd: dataDir,
    env: {
      ...process.env,
      EARSHOT_DATA_DIR: dataDir,
      EARSHOT_HOST: '127.0.0.1',
      EARSHOT_PORT: '0',
      EARSHOT_LOG_FORMAT: 'json',
      EARSHOT_LOG_LEVEL: 'info',
      EARSHOT_WATCH: 'false',
      EARSHOT_YTDLP: '/usr/bin/yt-dlp',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  let setupToken: string | null = null;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${log.join('\n')}`)), 60_000);
    const onLine = (line: string) => {
      log.push(line);
      const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(line);
      if (token && line.includes('setup')) setupToken = token[1]!;
      const listening = /Earshot is listening on (http:\/\/[^\s"]+)/.exec(line);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]!);
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${log.join('\n')}`));
    });
  });

  return {
    base,
    get setupToken() {
      return setupToken;
    },
    log,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      // A graceful stop is bounded by the server's own shutdown deadline; never hang a test run on it.
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
