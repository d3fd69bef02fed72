/**
 * Runs ffmpeg for one transcoded stream and keeps a registry of the children it started, so a
 * client disconnect kills its ffmpeg at once and shutdown kills them all. Output is teed to a temp
 * file when the result is cacheable; the file is committed only when ffmpeg exits 0 and the client
 * received everything.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { type Readable, Transform } from 'node:stream';
import type { Logger } from '../shared/logger.js';
import type { DiskLru } from './disk-lru.js';
import { UnplayableMedia } from './errors.js';
import { ffmpegArgs, type TranscodeSpec } from './transcode-profiles.js';

type FfmpegChild = ChildProcessByStdio<null, Readable, Readable>;

export interface CacheTarget {
  cache: DiskLru;
  name: string;
}

export interface RunningTranscode {
  /** ffmpeg's stdout, already holding its first bytes. */
  output: Readable;
  pid: number;
  /** Stops ffmpeg now (client gone); the partial cache file is discarded. */
  abort(): void;
  /** Resolves once ffmpeg has exited and any cache commit is done. */
  done: Promise<void>;
}

export class Transcoder extends EventEmitter {
  private readonly children = new Set<FfmpegChild>();
  /** ffmpeg processes started since boot (metrics, tests). */
  started = 0;
  /** Transcodes whose ffmpeg or cache commit is not finished yet. */
  private unsettled = 0;

  constructor(
    private readonly ffmpegPath: string,
    private readonly logger: Logger,
  ) {
    super();
  }

  /** Number of ffmpeg processes alive right now. */
  get running(): number {
    return this.children.size;
  }

  /** Pids of the live ffmpeg children (tests and the admin page). */
  pids(): number[] {
    return [...this.children].map((c) => c.pid ?? -1);
  }

  /** Resolves when no transcode is running or committing (tests, shutdown). */
  async whenIdle(): Promise<void> {
    if (this.unsettled > 0) await once(this, 'idle');
  }

  /** Kills every child (shutdown). */
  async killAll(): Promise<void> {
    const exits = [...this.children].map((c) => once(c, 'close').catch(() => undefined));
    for (const c of this.children) c.kill('SIGKILL');
    await Promise.all(exits);
  }

  /**
   * Starts ffmpeg on `inputPath` and resolves when the first output bytes are ready (so a decode
   * failure is still an HTTP error, not a truncated 200), or rejects with UnplayableMedia.
   */
  async start(inputPath: string, spec: TranscodeSpec, cacheTarget?: CacheTarget): Promise<RunningTranscode> {
    const args = ffmpegArgs(inputPath, spec);
    // No shell; stdin closed; the argument array is built only from allow-listed values.
    const child = spawn(this.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: false }) as FfmpegChild;
    this.children.add(child);
    this.started += 1;
    this.unsettled += 1;
    const log = this.logger.child({ area: 'streaming', pid: child.pid, format: spec.format, kbps: spec.kbps });
    log.debug('ffmpeg started');

    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 4000) stderr += d;
    });
    const closed = new Promise<number | null>((resolve) => {
      let ended = false;
      const end = (code: number | null) => {
        if (ended) return;
        ended = true;
        this.children.delete(child);
        this.emit('exit', child.pid);
        resolve(code);
      };
      child.once('close', (code) => end(code));
      // A spawn failure (binary vanished, EMFILE) may not be followed by 'close'.
      child.once('error', (err) => {
        log.warn({ err }, 'ffmpeg could not start');
        if (child.pid === undefined) end(null);
      });
    });

    let aborted = false;
    const tmp = cacheTarget?.cache.enabled ? cacheTarget.cache.tempFor(cacheTarget.name) : null;
    const file = tmp ? createWriteStream(tmp, { flags: 'wx' }) : null;
    file?.on('error', (err) => {
      log.warn({ err }, 'transcode cache write failed');
      child.stdout.unpipe(file);
    });
    const fileFinished = file ? once(file, 'close').catch(() => undefined) : Promise.resolve();

    const abort = () => {
      if (aborted) return;
      aborted = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (file) {
        child.stdout.unpipe(file);
        file.destroy();
      }
    };

    const settle = async (): Promise<boolean> => {
      const code = await closed;
      await fileFinished;
      if (!tmp || !cacheTarget) return false;
      if (code === 0 && !aborted) {
        try {
          const { size } = await stat(tmp);
          await cacheTarget.cache.commit(tmp, cacheTarget.name, size);
          log.debug({ size }, 'transcode cached');
          return true;
        } catch (err) {
          log.warn({ err }, 'transcode cache commit failed');
        }
      }
      await rm(tmp, { force: true }).catch(() => undefined);
      return false;
    };
    // 'settled': ffmpeg is gone and the cache is consistent (committed or cleaned up).
    const done = settle()
      .catch(() => false)
      .then((cached) => {
        this.unsettled -= 1;
        this.emit('settled', { pid: child.pid, cached, name: cacheTarget?.name ?? null });
        if (this.unsettled === 0) this.emit('idle');
      });

    // Both consumers are attached in the same tick, so neither misses the first chunk. The tap
    // reports the first bytes, so a decode failure is still an HTTP error, not a truncated 200.
    let sawBytes: () => void = () => {};
    const firstBytes = new Promise<boolean>((resolve) => {
      sawBytes = () => resolve(true);
    });
    const output = new Transform({
      highWaterMark: 64 * 1024,
      transform(chunk, _enc, callback) {
        sawBytes();
        callback(null, chunk);
      },
    });
    child.stdout.pipe(output);
    if (file) child.stdout.pipe(file);

    const hasOutput = await Promise.race([firstBytes, closed.then(() => false)]);
    if (!hasOutput) {
      const code = await closed;
      abort();
      await done;
      log.warn({ code, stderr: stderr.trim().slice(0, 500) }, 'ffmpeg produced no audio');
      throw new UnplayableMedia('This track could not be transcoded (ffmpeg could not decode it).');
    }
    // Killed or failed mid-stream: break the response instead of ending it as if it were complete.
    // (The HTTP layer sees the error through its own listener; this one only keeps an error that
    // arrives before the response is piped from being an uncaught 'error' event.)
    output.on('error', () => undefined);
    void closed.then((code) => {
      if (code !== 0 && !output.destroyed) output.destroy(new Error(`ffmpeg exited with ${code ?? 'a signal'}`));
    });
    return { output, pid: child.pid ?? -1, abort, done };
  }
}
