/**
 * Track durations without reading whole files (see "Durations" in README.md).
 *
 * The tag worker parses a 256 KiB head with music-metadata's `duration: false` (a full parse of
 * every file would cost a whole-file read). That leaves the duration empty where it is not in the
 * header: Ogg keeps it in the last page's granule position, and an MP3 without a Xing/VBRI header
 * only tells its length through its frames. This module fills those in with a few bounded reads:
 *
 * - Ogg (Vorbis, Opus, FLAC, Speex): last page of the first logical stream, from the file's tail
 *   (one read of at most 128 KiB; a page is at most 65,307 bytes), checked by its CRC.
 * - MP3: see mpeg-duration.ts.
 * - FLAC, MP4 (`mvhd`/`mdhd`, even with `moov` at the end), WAV, AIFF, WMA: music-metadata reads
 *   them from the header it already parsed; that value is kept.
 *
 * A file whose duration cannot be found this way still has an audio stream: it becomes a track
 * with an unknown (null) duration, never "unreadable".
 */
import { mpegDuration } from './mpeg-duration.js';

/** Reads up to `length` bytes at `offset` (fewer at the end of the file). */
export type ReadAt = (offset: number, length: number) => Buffer;

export interface DurationInput {
  size: number;
  /** The file's first bytes (the tag worker's head). */
  head: Buffer;
  read: ReadAt;
  /** music-metadata's `format.container` and `format.duration` from the head parse. */
  container?: string;
  parsed?: number;
}

/**
 * Bytes read from the end of an Ogg file: at least two of the largest pages (27-byte header, 255
 * lacing values, 255 × 255 bytes: 65,307 bytes), so a complete page is in it even when the last is cut.
 */
const OGG_TAIL = 128 * 1024;

export interface MediaDuration {
  /** Seconds, or null when the file does not tell. */
  seconds: number | null;
  /** Bytes of audio (without tags), when known: gives the average bitrate. */
  audioBytes: number | null;
}

export function mediaDuration(input: DurationInput): MediaDuration {
  const { head } = input;
  if (head.length >= 4 && head.toString('latin1', 0, 4) === 'OggS') {
    return { seconds: valid(oggDuration(input)), audioBytes: null };
  }
  if (/^MPEG$/i.test(input.container ?? '') || isMpegCodecOnly(input)) {
    const mpeg = mpegDuration(input);
    if (mpeg && valid(mpeg.seconds)) return mpeg;
  }
  return { seconds: valid(input.parsed ?? null), audioBytes: null };
}

function isMpegCodecOnly(input: DurationInput): boolean {
  // An ID3-tagged file music-metadata did not finish (tags past the head) is still an MP3.
  return !input.container && input.head.toString('latin1', 0, 3) === 'ID3';
}

function valid(seconds: number | null): number | null {
  return seconds !== null && Number.isFinite(seconds) && seconds > 0 ? seconds : null;
}

interface OggStream {
  serial: number;
  /** Samples per second of the granule position (48 kHz for Opus whatever the input rate). */
  rate: number;
  /** Samples to drop from the start (Opus pre-skip). */
  skip: number;
  /** Total samples declared by a FLAC STREAMINFO (0 when unknown). */
  declared: number;
}

/** Identifies the first logical stream from its first page (the codec's identification header). */
export function oggStream(head: Buffer): OggStream | null {
  if (head.length < 28 || head.toString('latin1', 0, 4) !== 'OggS' || head[4] !== 0) return null;
  const serial = head.readUInt32LE(14);
  const segments = head[26];
  const p = 27 + segments;
  if (head.length < p + 8) return null;
  if (head.toString('latin1', p, p + 7) === '\x01vorbis' && head.length >= p + 16) {
    return { serial, rate: head.readUInt32LE(p + 12), skip: 0, declared: 0 };
  }
  if (head.toString('latin1', p, p + 8) === 'OpusHead' && head.length >= p + 12) {
    // RFC 7845: granule positions count 48 kHz samples; the first `pre-skip` are not played.
    return { serial, rate: 48_000, skip: head.readUInt16LE(p + 10), declared: 0 };
  }
  if (head.toString('latin1', p, p + 5) === '\x7fFLAC' && head.length >= p + 17 + 4 + 18) {
    // Ogg FLAC mapping: 0x7F "FLAC", version (2), header count (2), "fLaC", STREAMINFO block.
    const info = p + 13 + 4;
    return { serial, ...flacStreamInfo(head, info) };
  }
  if (head.toString('latin1', p, p + 8) === 'Speex   ' && head.length >= p + 40) {
    return { serial, rate: head.readUInt32LE(p + 36), skip: 0, declared: 0 };
  }
  return null;
}

/** Sample rate and total samples from a FLAC STREAMINFO block body starting at `at`. */
export function flacStreamInfo(buf: Buffer, at: number): { rate: number; skip: number; declared: number } {
  const rate = (buf[at + 10] << 12) | (buf[at + 11] << 4) | (buf[at + 12] >> 4);
  const declared = (buf[at + 13] & 0x0f) * 2 ** 32 + buf.readUInt32BE(at + 14);
  return { rate, skip: 0, declared };
}

function oggDuration(input: DurationInput): number | null {
  const stream = oggStream(input.head);
  if (!stream || stream.rate <= 0) return null;
  if (stream.declared > 0) return stream.declared / stream.rate;
  const length = Math.min(input.size, OGG_TAIL);
  const tail = input.read(input.size - length, length);
  const granule = lastGranule(tail, stream.serial);
  if (granule === null) return null;
  return Math.max(0, granule - stream.skip) / stream.rate;
}

/**
 * The granule position of the last complete, CRC-valid page of `serial` in `tail`, or null.
 * Searching backwards: "OggS" can occur inside compressed data, the CRC tells a page from chance.
 */
export function lastGranule(tail: Buffer, serial: number): number | null {
  for (let at = tail.lastIndexOf('OggS', tail.length - 27, 'latin1'); at >= 0; ) {
    const page = pageAt(tail, at);
    if (page && page.serial === serial && page.granule !== null) return page.granule;
    if (at === 0) break;
    at = tail.lastIndexOf('OggS', at - 1, 'latin1');
  }
  return null;
}

function pageAt(buf: Buffer, at: number): { serial: number; granule: number | null } | null {
  if (at + 27 > buf.length || buf[at + 4] !== 0) return null;
  const segments = buf[at + 26];
  if (at + 27 + segments > buf.length) return null;
  let length = 27 + segments;
  for (let i = 0; i < segments; i++) length += buf[at + 27 + i];
  if (at + length > buf.length) return null;
  if (oggCrc(buf, at, length) !== buf.readUInt32LE(at + 22)) return null;
  const low = buf.readUInt32LE(at + 6);
  const high = buf.readUInt32LE(at + 10);
  // -1 means "no packet ends on this page".
  const granule = low === 0xffffffff && high === 0xffffffff ? null : high * 2 ** 32 + low;
  return { serial: buf.readUInt32LE(at + 14), granule };
}

let crcTable: Uint32Array | null = null;

/** Ogg's CRC-32 (polynomial 0x04c11db7, not reflected), computed with the CRC field as zero. */
function oggCrc(buf: Buffer, at: number, length: number): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let r = i << 24;
      for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
      crcTable[i] = r >>> 0;
    }
  }
  let crc = 0;
  for (let i = 0; i < length; i++) {
    const byte = i >= 22 && i < 26 ? 0 : buf[at + i];
    crc = ((crc << 8) ^ crcTable[((crc >>> 24) ^ byte) & 0xff]) >>> 0;
  }
  return crc;
}
