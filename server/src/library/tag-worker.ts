/**
 * Worker thread that reads tags. Runs inside a worker_threads pool (see worker-pool.ts).
 *
 * Why synchronous reads here: one async fs call costs ~100 µs on the target machines, a sync
 * read a few µs, and this thread has nothing else to do. music-metadata parses a 256 KiB head
 * buffer ~3× faster than `parseFile`, so the head is parsed first and the whole file only when
 * the tags are not in it (e.g. M4A with `moov` at the end).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { type IAudioMetadata, parseBuffer, parseFile, selectCover } from 'music-metadata';
import { mediaDuration, type ReadAt } from './durations.js';
import { type OggHeaders, oggFlacMetadata, oggPictures, readOggHeaders } from './ogg-headers.js';
import { FINISHED, STARTED_AT } from './reader-progress.js';
import { normalizeTags, type TrackTags } from './tags.js';

export const HEAD_BYTES = 256 * 1024;
const FINGERPRINT_BYTES = 64 * 1024;
const MAX_PICTURE_BYTES = 16 * 1024 * 1024;
const MAX_LRC_BYTES = 512 * 1024;

export interface ReadJob {
  id: number;
  abs: string;
  rel: string;
  size: number;
  /** The walk's mtime (ms): with `size`, tells whether the file changed while it was read. */
  mtime?: number;
  lrc: string | null;
}

export interface ReadPicture {
  hash: string;
  mime: string;
  /** Present the first time this worker sees the image (the main thread stores it once). */
  data?: Uint8Array;
}

export type ReadResult = (
  | { id: number; ok: true; tags: TrackTags; fingerprint: string; picture: ReadPicture | null }
  | { id: number; ok: false; reason: string }
) & {
  /** The file's size or mtime differ from the job's after the read (still being copied in). */
  changed?: boolean;
};

export interface TagWorkerData {
  separators: string[];
  /**
   * The counters shared with the pool (reader-progress.ts): jobs finished, when the current one
   * started. The pool reads them when a time budget runs out.
   */
  progress: SharedArrayBuffer;
}

class Unreadable extends Error {}

const sentPictures = new Set<string>();

/**
 * The tracks of an album usually carry the same picture: the last few pictures are remembered
 * with their bytes, and a byte-for-byte equal one (memcmp) reuses the hash instead of hashing again.
 */
const recentPictures: { data: Buffer; hash: string }[] = [];
const RECENT_PICTURES = 4;

function pictureHash(data: Uint8Array): string {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (const p of recentPictures) if (p.data.length === bytes.length && p.data.equals(bytes)) return p.hash;
  const hash = createHash('sha256').update(bytes).digest('hex');
  recentPictures.unshift({ data: Buffer.from(bytes), hash });
  if (recentPictures.length > RECENT_PICTURES) recentPictures.pop();
  return hash;
}

/**
 * The 256 KiB head is read into one buffer the worker keeps: a fresh one per file was ~5 GB of
 * short-lived off-heap memory for a 20k-file scan, and V8 counts external memory towards its GC
 * triggers (the scan's GC threads cost ~0.1 ms per file). readTrack copies whatever it keeps
 * (the fingerprint is a hash, a picture is copied); a second readTrack running while the first
 * awaits its parse (tests) gets a buffer of its own.
 */
let spareHead: Buffer | null = Buffer.allocUnsafeSlow(HEAD_BYTES);

function readAt(fd: number, offset: number, length: number, into?: Buffer): Buffer {
  const buf = into ? into.subarray(0, Math.max(0, length)) : Buffer.allocUnsafe(Math.max(0, length));
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got === buf.length ? buf : buf.subarray(0, got);
}

/** Rejects headers that declare more bytes than the file has before any parser allocates them. */
function checkDeclaredSizes(head: Buffer, size: number): void {
  if (head.length >= 10 && head.toString('latin1', 0, 3) === 'ID3') {
    const b = head.subarray(6, 10);
    if (b.some((x) => x & 0x80)) throw new Unreadable('ID3v2 header has an invalid size');
    const declared = ((b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]) + 10;
    if (declared > size) throw new Unreadable(`ID3v2 tag declares ${declared} bytes but the file has ${size}`);
  }
  if (head.length >= 8 && head.toString('latin1', 0, 4) === 'fLaC') {
    // Metadata blocks: 1 byte (last-flag + type), 3 bytes length. All must fit in the file.
    let at = 4;
    for (let i = 0; i < 1024 && at + 4 <= head.length; i++) {
      const last = head[at] & 0x80;
      const length = head.readUIntBE(at + 1, 3);
      at += 4 + length;
      if (at > size) throw new Unreadable(`truncated FLAC metadata block (type ${head[at - 4 - length] & 0x7f})`);
      if (last) break;
    }
  }
  if (head.length >= 8 && head.toString('latin1', 4, 8) === 'ftyp') {
    // Top-level MP4 atoms: a zero or impossible size is corrupt, one past the end is truncated.
    let at = 0;
    for (let i = 0; i < 64 && at + 8 <= head.length; i++) {
      let length = head.readUInt32BE(at);
      if (length === 1 && at + 16 <= head.length) length = Number(head.readBigUInt64BE(at + 8));
      const type = head.toString('latin1', at + 4, at + 8);
      if (length === 0 && at === 0) throw new Unreadable('MP4 atom of size 0 at the start of the file');
      if (length === 0) break; // "extends to the end of the file": legal for the last atom
      if (length < 8) throw new Unreadable(`MP4 atom "${type}" has an invalid size ${length}`);
      if (at + length > size) throw new Unreadable(`truncated MP4 file (atom "${type}" ends past the end of the file)`);
      at += length;
    }
  }
}

/**
 * An audio stream was found. Its duration is not required: Ogg keeps it at the end of the file
 * and some files do not tell it at all (see durations.ts); such a file is still a track.
 */
function hasAudio(meta: IAudioMetadata): boolean {
  const f = meta.format;
  return (
    Boolean(f.codec || f.container) &&
    ((f.duration ?? 0) > 0 || (f.sampleRate ?? 0) > 0 || (f.numberOfChannels ?? 0) > 0)
  );
}

/**
 * AIFF and WAV often keep their ID3/LIST chunk after the sound data (ffmpeg, iTunes): the whole
 * file is parsed for them (music-metadata seeks over the sound data, so this is not a full read,
 * and its header-based duration is right only then).
 */
function tagsAfterAudio(meta: IAudioMetadata): boolean {
  return /^(AIFF|AIFF-C|WAVE)$/i.test(meta.format.container ?? '');
}

/**
 * FLAC keeps its tags in metadata blocks before the audio: a head that parsed with an audio stream
 * and no tags is an untagged file (a block larger than the head fails the head parse instead).
 */
function tagsOnlyFirst(meta: IAudioMetadata): boolean {
  return /^FLAC$/i.test(meta.format.container ?? '');
}

async function parse(job: ReadJob, head: Buffer, read: ReadAt): Promise<IAudioMetadata> {
  const headers = head.toString('latin1', 0, 4) === 'OggS' ? readOggHeaders(read, job.size) : null;
  if (headers) return parseOgg(job, head, read, headers);
  const partial = head.length < job.size;
  let headError: unknown = null;
  try {
    const meta = await parseBuffer(head, { path: job.abs, size: job.size }, { duration: false });
    // No tags in the head may mean tags at the end (ID3v1, APE): only then is the whole file worth a look.
    const tagged = Object.keys(meta.native ?? {}).length > 0;
    if ((hasAudio(meta) && (tagged || tagsOnlyFirst(meta)) && !tagsAfterAudio(meta)) || !partial) return meta;
  } catch (err) {
    headError = err;
    if (!partial) throw err;
  }
  // Tags or audio info beyond the head: read the whole file (bounded by the worker's time budget).
  try {
    return await parseFile(job.abs, { duration: false });
  } catch (err) {
    throw headError ?? err;
  }
}

/**
 * Ogg: exactly the header packets are parsed, however large (see ogg-headers.ts); pictures are
 * decoded here, and FLAC-in-Ogg's metadata blocks go through the FLAC parser.
 */
async function parseOgg(job: ReadJob, head: Buffer, read: ReadAt, headers: OggHeaders): Promise<IAudioMetadata> {
  const bytes = headers.end <= head.length ? head.subarray(0, headers.end) : read(0, headers.end);
  let meta = await parseBuffer(bytes, { path: job.abs, size: job.size }, { duration: false, skipCovers: true });
  const flac = oggFlacMetadata(headers);
  if (flac) {
    const inner = await parseBuffer(flac, { mimeType: 'audio/flac', size: flac.length }, { skipCovers: true });
    meta = { ...meta, common: inner.common, native: inner.native };
  }
  const pictures = oggPictures(headers);
  if (pictures.length > 0) meta = { ...meta, common: { ...meta.common, picture: pictures } };
  return meta;
}

function describe(err: unknown): string {
  if (err instanceof Unreadable) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'file vanished while scanning';
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return 'permission denied';
  if (e?.code === 'EISDIR') return 'is a directory';
  const message = String(e?.message ?? err)
    .replace(/\s+/g, ' ')
    .slice(0, 300);
  if (/end-?of-?stream|EndOfStream/i.test(message) || e?.name === 'EndOfStreamError')
    return `truncated file (${message})`;
  return `unreadable tags: ${message}`;
}

export async function readTrack(job: ReadJob, separators: string[]): Promise<ReadResult> {
  let fd: number | null = null;
  const headBuffer = spareHead;
  spareHead = null;
  try {
    if (job.size === 0) throw new Unreadable('empty file (0 bytes)');
    fd = openSync(job.abs, 'r');
    const file = fd;
    const head = readAt(file, 0, Math.min(job.size, HEAD_BYTES), headBuffer ?? undefined);
    if (head.length < job.size && head.length < HEAD_BYTES) throw new Unreadable('file shrank while scanning');
    checkDeclaredSizes(head, job.size);
    // Bytes in the head (Ogg header pages, the whole of a small file) are not read again.
    const read: ReadAt = (offset, length) =>
      offset + length <= head.length ? head.subarray(offset, offset + length) : readAt(file, offset, length);
    const meta = await parse(job, head, read);
    if (!hasAudio(meta)) throw new Unreadable('no audio stream found (not a music file, or corrupt)');
    const duration = mediaDuration({
      size: job.size,
      head,
      read,
      container: meta.format.container,
      parsed: meta.format.duration,
    });
    let lyrics: string | null = null;
    if (job.lrc) {
      try {
        const text = readFileSync(job.lrc);
        lyrics = text.subarray(0, MAX_LRC_BYTES).toString('utf8').trim() || null;
      } catch {
        lyrics = null; // A vanished or unreadable sidecar is not the track's fault.
      }
    }
    const tags = normalizeTags(meta, job.rel, separators, lyrics);
    tags.duration = duration.seconds;
    // The average bitrate over the audio (MP3: without its tags), else over the file, where
    // music-metadata's figure comes from the bytes it parsed (FLAC, Ogg) or is missing.
    const sizeBased = /^(FLAC|Ogg)$/i.test(meta.format.container ?? '') || !(tags.bitrate && tags.bitrate > 0);
    if (duration.seconds && (duration.audioBytes || sizeBased)) {
      tags.bitrate = Math.round(((duration.audioBytes ?? job.size) * 8) / duration.seconds / 1000);
    }
    const fingerprint = createHash('sha256')
      .update(String(job.size))
      .update(head.subarray(0, FINGERPRINT_BYTES))
      .digest('hex');
    let picture: ReadPicture | null = null;
    const cover = selectCover(meta.common.picture);
    if (cover && cover.data.length > 0 && cover.data.length <= MAX_PICTURE_BYTES) {
      const hash = pictureHash(cover.data);
      picture = { hash, mime: cover.format.includes('/') ? cover.format : `image/${cover.format}` };
      if (!sentPictures.has(hash)) {
        sentPictures.add(hash);
        picture.data = new Uint8Array(cover.data); // a copy the main thread owns
      }
    }
    return { id: job.id, ok: true, tags, fingerprint, picture };
  } catch (err) {
    return { id: job.id, ok: false, reason: describe(err) };
  } finally {
    if (fd !== null) closeSync(fd);
    if (headBuffer) spareHead = headBuffer;
  }
}

/**
 * Results go back in batches: one message per file cost the main thread a wake-up per file (~19 %
 * of a reader's samples were in postMessage on 2 busy cores). A batch is sent when it has
 * RESULT_BATCH results, when RESULT_HOLD_MS passed since its first, or when no job is waiting.
 * The pool learns which file is being read from the shared progress counters, not from the
 * results (a result held here must not make the next file's hang blame it).
 */
const RESULT_BATCH = 32;
const RESULT_HOLD_MS = 5;

if (parentPort) {
  const port = parentPort;
  const { separators, progress } = workerData as TagWorkerData;
  const counters = new BigInt64Array(progress);
  port.postMessage('ready');
  // Jobs are read one after the other, in the order they came (the pool's time budget is for the
  // job the progress counters show).
  const jobs: ReadJob[] = [];
  let busy = false;
  let held: ReadResult[] = [];
  let transfer: ArrayBuffer[] = [];
  let heldSince = 0;
  const flush = () => {
    port.postMessage(held, transfer);
    held = [];
    transfer = [];
  };
  const drain = async () => {
    busy = true;
    for (let job = jobs.shift(); job; job = jobs.shift()) {
      Atomics.store(counters, STARTED_AT, BigInt(Date.now()));
      const result = await readTrack(job, separators).catch(
        (err): ReadResult => ({ id: (job as ReadJob).id, ok: false, reason: describe(err) }),
      );
      if (job.mtime !== undefined) {
        // Checked here rather than on the main thread: one stat per file off the writer's thread.
        const after = statSync(job.abs, { throwIfNoEntry: false });
        result.changed = !after || after.size !== job.size || Math.trunc(after.mtimeMs) !== job.mtime;
      }
      if (result.ok && result.picture?.data) transfer.push(result.picture.data.buffer as ArrayBuffer);
      if (held.length === 0) heldSince = Date.now();
      held.push(result);
      Atomics.add(counters, FINISHED, 1n);
      if (held.length >= RESULT_BATCH || jobs.length === 0 || Date.now() - heldSince >= RESULT_HOLD_MS) flush();
    }
    busy = false;
  };
  port.on('message', (batch: ReadJob[]) => {
    for (const job of batch) jobs.push(job);
    if (!busy) void drain();
  });
}
