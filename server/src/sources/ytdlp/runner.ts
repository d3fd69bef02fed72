/**
 * The one place yt-dlp is started (ytdlp/runner.test.ts, ssrf.test.ts). Rules:
 *  - argument arrays, never a shell; `--ignore-config` so no config file adds options;
 *  - fixed options only — nothing a user sends ever becomes an option; the target comes after
 *    `--` and must be an http(s) URL or a `<prefix>N:` search key (checked again here, in depth);
 *  - every network request goes through the pinning egress proxy (net/egress-proxy.ts);
 *  - a time limit, and a byte cap enforced by the proxy and by the caller.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { Logger } from '../../shared/logger.js';
import type { AddressPolicy, CheckedAddress } from '../net/address-policy.js';
import type { EgressProxy, EgressSession } from '../net/egress-proxy.js';

export type YtDlpKind = 'json' | 'search' | 'audio';

export interface YtDlpRunnerOptions {
  path: string;
  proxy: EgressProxy;
  policy: AddressPolicy;
  logger: Logger;
  /** Hard cap on bytes one run may download. */
  maxBytes: number;
  /** Socket timeout given to yt-dlp (seconds). */
  socketTimeoutSeconds?: number;
}

const SEARCH_TARGET = /^(ytsearch|ytmsearch|scsearch)\d{1,2}:[^\n\r\0]{1,200}$/;

/** Throws unless `target` is something yt-dlp may be pointed at: an http(s) URL or a search key. */
export function assertSafeTarget(target: string): void {
  if (SEARCH_TARGET.test(target)) return;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new Error('yt-dlp target is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('yt-dlp target must be http(s)');
  if (target.startsWith('-')) throw new Error('yt-dlp target looks like an option');
}

/** The full argument array for one run. Exported for tests: the shape is part of the security contract. */
export function buildYtDlpArgs(kind: YtDlpKind, target: string, proxyUrl: string, socketTimeoutSeconds = 15): string[] {
  assertSafeTarget(target);
  const common = [
    '--ignore-config',
    '--no-playlist',
    '--no-cache-dir',
    '--no-progress',
    '--no-color',
    '--socket-timeout',
    String(socketTimeoutSeconds),
    '--proxy',
    proxyUrl,
  ];
  switch (kind) {
    case 'json':
      return [...common, '--dump-single-json', '--', target];
    case 'search':
      return [...common, '--flat-playlist', '--dump-single-json', '--', target];
    case 'audio':
      // Fixed output: the bytes go to stdout and the server decides where they are stored.
      return [...common, '-f', 'bestaudio/best', '--no-part', '-o', '-', '--', target];
  }
}

/** A minimal environment: no proxies or config dirs inherited from the server's environment. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONUNBUFFERED: '1' };
  if (process.env.HOME) env.HOME = process.env.HOME;
  return env;
}

export class YtDlpError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly refusal: string | null,
  ) {
    super(message);
  }
}

/** yt-dlp's own last "ERROR:" line is the clearest explanation; fall back to the last stderr line. */
export function errorFromStderr(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const error = [...lines].reverse().find((l) => l.startsWith('ERROR:'));
  const line = (error ?? lines.at(-1) ?? 'yt-dlp failed')
    .replace(/^ERROR:\s*/, '')
    // yt-dlp's boilerplate adds nothing for a listener: "(caused by …); please report this issue …".
    .replace(/\s*\(caused by .*$/, '')
    .replace(/;\s*please report this issue.*$/i, '');
  // Never echo proxy credentials back.
  return line.replace(/https?:\/\/[0-9a-f]{36}:x@127\.0\.0\.1:\d+/g, '<proxy>').slice(0, 300);
}

export interface AudioProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  session: EgressSession;
  /** Resolves when the process exits, with its code and the tail of stderr. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export class YtDlpRunner extends EventEmitter<{ spawn: [{ kind: YtDlpKind; pid: number | undefined }] }> {
  /** Processes started, by kind (metrics; tests count downloads with it). */
  readonly started: Record<YtDlpKind, number> = { json: 0, search: 0, audio: 0 };
  private readonly running = new Set<ChildProcessByStdio<null, Readable, Readable>>();

  constructor(private readonly options: YtDlpRunnerOptions) {
    super();
  }

  get activeCount(): number {
    return this.running.size;
  }

  private async start(kind: YtDlpKind, target: string, pinned?: CheckedAddress[]) {
    const session = await this.options.proxy.openSession({
      policy: this.options.policy,
      maxBytes: this.options.maxBytes,
      pinned,
    });
    let args: string[];
    try {
      args = buildYtDlpArgs(kind, target, session.proxyUrl, this.options.socketTimeoutSeconds);
    } catch (err) {
      session.close();
      throw err;
    }
    const child = spawn(this.options.path, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
    this.started[kind] += 1;
    this.running.add(child);
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-8192);
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
      child.on('error', (err) => {
        stderr += `\nERROR: cannot start yt-dlp (${this.options.path}): ${err.message}`;
      });
      child.on('close', (code, signal) => {
        this.running.delete(child);
        session.close();
        resolve({ code, signal, stderr });
      });
    });
    this.options.logger.debug({ area: 'sources', kind, pid: child.pid }, 'yt-dlp started');
    this.emit('spawn', { kind, pid: child.pid });
    return { child, session, exited };
  }

  /** Runs `-J` (or a flat search) and parses the JSON. Aborting the signal kills the process. */
  async json(
    kind: 'json' | 'search',
    target: string,
    options: { signal?: AbortSignal; timeoutMs: number; pinned?: CheckedAddress[] },
  ): Promise<unknown> {
    options.signal?.throwIfAborted();
    const { child, session, exited } = await this.start(kind, target, options.pinned);
    const chunks: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 32 * 1024 * 1024) child.kill('SIGKILL');
      else chunks.push(c);
    });
    const kill = () => child.kill('SIGKILL');
    const timer = setTimeout(kill, options.timeoutMs);
    options.signal?.addEventListener('abort', kill, { once: true });
    if (options.signal?.aborted) kill(); // aborted while the process was starting
    const { code, stderr } = await exited;
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', kill);
    options.signal?.throwIfAborted();
    if (code !== 0) {
      const refusal = session.refusal;
      throw new YtDlpError(refusal ? `refused: ${refusal}` : errorFromStderr(stderr), code, refusal);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      throw new YtDlpError(`yt-dlp printed invalid JSON: ${(err as Error).message}`, code, null);
    }
  }

  /** Starts an audio download to stdout. The caller reads `child.stdout` and kills on its limits. */
  async audio(target: string, pinned?: CheckedAddress[]): Promise<AudioProcess> {
    return this.start('audio', target, pinned);
  }

  /** Kills every running yt-dlp (shutdown). */
  killAll(): void {
    for (const child of this.running) child.kill('SIGKILL');
  }
}
