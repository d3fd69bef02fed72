/**
 * One in-flight download of a remote track: one yt-dlp process whose stdout is appended to
 * `<final name>.part`; every listener reads that growing file (so a late joiner gets the bytes
 * already fetched, and a slow listener never slows the download or the others). On success the
 * part is fsynced and renamed (commitFile); on failure it is deleted.
 *
 * Holders (listeners and cache jobs) keep it alive; when the last one leaves before the end, the
 * download is cancelled after a short grace period (a browser often drops a request and reopens
 * it with a Range), so a client disconnect stops its yt-dlp (caching-proxy.test.ts).
 */
import { EventEmitter } from 'node:events';
import type { BigIntStats } from 'node:fs';
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { commitFile } from '../../shared/atomic-file.js';
import { type CacheLocation, sniffAudioExt } from './cache-paths.js';

export type DownloadState = 'running' | 'done' | 'failed';

export class DownloadFailed extends Error {
  constructor(
    message: string,
    /** True when the server (not the origin) stopped it: cancelled, too large, too slow, shutdown. */
    readonly local = false,
  ) {
    super(message);
  }
}

/** Which file (device and inode) a download follows: survives the holder's rename, never reused while open. */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
}

export function sameFile(stats: BigIntStats, id: FileIdentity): boolean {
  return stats.dev === id.dev && stats.ino === id.ino;
}

export interface DownloadSink {
  /** Chooses the final location once the container is known from the first bytes. */
  locate(ext: string): CacheLocation;
}

export class RemoteDownload extends EventEmitter {
  state: DownloadState = 'running';
  /** Bytes durably written to the part file (readers never read past this). */
  written = 0;
  error: DownloadFailed | null = null;
  ext: string | null = null;
  location: CacheLocation | null = null;
  readonly startedAt = Date.now();
  private fh: FileHandle | null = null;
  private head: Buffer[] = [];
  private headSize = 0;
  private holders = 0;
  private graceTimer: NodeJS.Timeout | null = null;
  private writeChain: Promise<void> = Promise.resolve();
  /** Set when failing: no more writes, cleanup in progress. */
  private closing = false;
  /** Resolves when the download is complete and committed; rejects when it failed. */
  readonly finished: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: DownloadFailed) => void };
  /** Why the download was cancelled (listeners left, too large, shutdown), once it was. */
  cancelReason: DownloadFailed | null = null;
  private producerAttached = false;
  /** This process created the part file (and deletes it on failure); false when following another's. */
  private ownsPart = false;
  /**
   * Set while this download follows another replica's part file (it has no producer of its own):
   * readers open only this very file, whether still under its part name or renamed to its final one.
   */
  identity: FileIdentity | null = null;
  /** Some listener was promised bytes (a reader or a resolved wait): they cannot be swapped for others. */
  private exposed = false;
  private onCancel: (reason: DownloadFailed) => void = () => {};

  constructor(
    readonly trackId: string,
    private readonly sink: DownloadSink,
    private readonly limits: { maxBytes: number; idleGraceMs: number },
  ) {
    super();
    this.setMaxListeners(0);
    this.finished = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.finished.catch(() => {}); // observed through events/await by holders
  }

  /** Adds a holder; the returned function releases it (idempotent). */
  hold(): () => void {
    this.holders += 1;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders -= 1;
      if (this.holders === 0 && this.state === 'running') {
        this.graceTimer = setTimeout(() => {
          if (this.holders === 0 && this.state === 'running')
            this.cancel(new DownloadFailed('cancelled: every listener left', true));
        }, this.limits.idleGraceMs);
        this.graceTimer.unref();
      }
    };
  }

  /**
   * Stops the download. With a producer attached, it is killed and the hub settles the failure
   * once the process has exited (so "failed" means: no process, no part file); otherwise at once.
   */
  cancel(reason: DownloadFailed): void {
    if (this.state !== 'running' || this.closing || this.cancelReason) return;
    this.cancelReason = reason;
    if (this.producerAttached) this.onCancel(reason);
    else void this.fail(reason);
  }

  /** The hub attaches the process that feeds this download; `kill` stops it. */
  attachProducer(kill: () => void): void {
    this.producerAttached = true;
    this.onCancel = kill;
    if (this.cancelReason) kill();
  }

  /** Appends producer bytes (called in order; the hub pauses the producer until it resolves). */
  write(chunk: Buffer): Promise<void> {
    this.writeChain = this.writeChain.then(() => this.doWrite(chunk));
    return this.writeChain;
  }

  private async doWrite(chunk: Buffer): Promise<void> {
    if (this.state !== 'running' || this.closing || this.cancelReason) return;
    if (this.written + this.headSize + chunk.length > this.limits.maxBytes) {
      this.cancel(
        new DownloadFailed(
          `the remote file is larger than the ${Math.round(this.limits.maxBytes / 1048576)} MB limit`,
          true,
        ),
      );
      return;
    }
    if (!this.fh) {
      // Buffer until the container can be sniffed: the part file is named after its extension.
      this.head.push(chunk);
      this.headSize += chunk.length;
      if (this.headSize < 64) return;
      await this.openPart();
      return;
    }
    await this.fh.write(chunk, 0, chunk.length, this.written);
    this.written += chunk.length;
    this.emit('progress');
  }

  private async openPart(): Promise<void> {
    const head = Buffer.concat(this.head);
    this.head = [];
    this.headSize = 0;
    this.ext = sniffAudioExt(head);
    this.location = this.sink.locate(this.ext);
    await mkdir(dirname(this.location.partAbsolute), { recursive: true });
    // A new file, never a truncated orphan: a replica still following a dead holder's part (by its
    // open descriptor) must not see this download's bytes spliced into it.
    await rm(this.location.partAbsolute, { force: true });
    this.fh = await open(this.location.partAbsolute, 'wx', 0o644);
    this.ownsPart = true;
    await this.fh.write(head, 0, head.length, 0);
    this.written = head.length;
    this.emit('progress');
  }

  /** The producer finished cleanly: flush, fsync, rename. `afterCommit` records it in the DB. */
  async complete(afterCommit: (location: CacheLocation, ext: string) => Promise<void>): Promise<boolean> {
    await this.writeChain;
    if (this.cancelReason) {
      await this.fail(this.cancelReason);
      return false;
    }
    if (this.state !== 'running' || this.closing) return false;
    try {
      if (!this.fh && this.headSize > 0) await this.openPart();
      if (!this.fh || !this.location || !this.ext || this.written === 0)
        throw new DownloadFailed('the source sent no audio');
      await this.fh.sync();
      await this.fh.close();
      this.fh = null;
      await commitFile(this.location.partAbsolute, this.location.absolute);
      await afterCommit(this.location, this.ext);
    } catch (err) {
      await this.fail(
        err instanceof DownloadFailed
          ? err
          : new DownloadFailed(`could not store the download: ${(err as Error).message}`, true),
      );
      return false;
    }
    this.state = 'done';
    this.emit('progress');
    this.settle.resolve();
    return true;
  }

  /**
   * Another replica downloaded this track while this one waited for its lock: the download ends
   * as done on that finished file (`size` bytes), without a producer or a part file of its own.
   * Returns false when it already ended (cancelled while waiting).
   */
  adopt(location: CacheLocation, ext: string, size: number): boolean {
    if (this.state !== 'running' || this.closing || this.cancelReason) return false;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.location = location;
    this.ext = ext;
    this.written = size;
    this.state = 'done';
    this.emit('progress');
    this.settle.resolve();
    return true;
  }

  /**
   * Another replica holds the track's lock and is writing `location.partAbsolute`: this download
   * follows that file (`identity`) instead of producing its own, so its listeners get the bytes as
   * they arrive. {@link grow} reports the file's size; it ends with {@link adopt} when the holder
   * committed that very file, or fails when the holder stopped.
   */
  follow(location: CacheLocation, ext: string, identity: FileIdentity): boolean {
    if (this.state !== 'running' || this.closing || this.cancelReason || this.fh || this.ownsPart) return false;
    this.location = location;
    this.ext = ext;
    this.identity = identity;
    return true;
  }

  /**
   * The followed replica stopped without committing: back to no file, so this download can be
   * fetched afresh. Refused (false) once any of those bytes were handed out: a listener's stream
   * cannot be continued with another download's bytes.
   */
  unfollow(): boolean {
    if (this.exposed || this.state !== 'running') return false;
    this.location = null;
    this.ext = null;
    this.identity = null;
    this.written = 0;
    return true;
  }

  /** The followed file has grown to `size` bytes. */
  grow(size: number): void {
    if (this.state !== 'running' || this.closing || size <= this.written) return;
    this.written = size;
    this.emit('progress');
  }

  async fail(reason: DownloadFailed): Promise<void> {
    if (this.state !== 'running' || this.closing) return;
    // Stop writing first; listeners learn of the failure only once the part file is gone, so
    // whoever sees the error also sees a clean cache.
    this.closing = true;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    await this.writeChain.catch(() => {});
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => {});
    if (this.location && this.ownsPart) await rm(this.location.partAbsolute, { force: true }).catch(() => {});
    this.state = 'failed';
    this.error = reason;
    this.emit('progress');
    this.settle.reject(reason);
  }

  /** Resolves once at least one byte is readable (or the download ended); rejects if it failed first. */
  firstData(): Promise<void> {
    return this.waitFor(0);
  }

  /** Resolves once byte `pos` is written or the download ended; rejects when it failed before that. */
  waitFor(pos: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.written > pos || this.state === 'done') {
          this.off('progress', check);
          this.exposed = true;
          resolve();
        } else if (this.state === 'failed') {
          this.off('progress', check);
          reject(this.error);
        }
      };
      this.on('progress', check);
      check();
    });
  }

  /** A stream of the file from `start` to `end` (inclusive; default: to the end of the download). */
  reader(start: number, end?: number): Readable {
    this.exposed = true;
    return new DownloadReader(this, start, end);
  }
}

class DownloadReader extends Readable {
  private pos: number;
  private fh: FileHandle | null = null;
  private busy = false;

  constructor(
    private readonly dl: RemoteDownload,
    start: number,
    private readonly end?: number,
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.pos = start;
  }

  override _read(): void {
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy || this.destroyed) return;
    this.busy = true;
    try {
      for (;;) {
        const limit = this.end === undefined ? this.dl.written : Math.min(this.dl.written, this.end + 1);
        if (this.pos < limit) {
          this.fh ??= await this.openFile();
          const length = Math.min(256 * 1024, limit - this.pos);
          const buf = Buffer.allocUnsafe(length);
          const { bytesRead } = await this.fh.read(buf, 0, length, this.pos);
          if (bytesRead === 0) throw new Error('cache file shrank while reading');
          this.pos += bytesRead;
          if (!this.push(buf.subarray(0, bytesRead))) return;
          continue;
        }
        if ((this.end !== undefined && this.pos > this.end) || this.dl.state === 'done') {
          this.push(null);
          return;
        }
        if (this.dl.state === 'failed') {
          this.destroy(this.dl.error ?? new Error('download failed'));
          return;
        }
        await new Promise<void>((resolve) => this.dl.once('progress', resolve));
      }
    } catch (err) {
      this.destroy(err as Error);
    } finally {
      this.busy = false;
    }
  }

  /** The download's file: the part, or its final name once renamed (an open fd survives the rename). */
  private async openFile(): Promise<FileHandle> {
    const loc = this.dl.location;
    if (!loc) throw new Error('the download has no file yet');
    let lastError: unknown = new Error('the cache file is gone');
    for (const path of [loc.partAbsolute, loc.absolute]) {
      let fh: FileHandle;
      try {
        fh = await open(path, 'r');
      } catch (err) {
        lastError = err;
        continue;
      }
      // Following another replica: only the very file it writes (not a later download's part).
      if (!this.dl.identity || sameFile(await fh.stat({ bigint: true }), this.dl.identity)) return fh;
      await fh.close();
      lastError = new Error('the file another replica was writing was replaced');
    }
    throw lastError;
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    const fh = this.fh;
    this.fh = null;
    if (fh)
      fh.close().then(
        () => cb(err),
        () => cb(err),
      );
    else cb(err);
  }
}
