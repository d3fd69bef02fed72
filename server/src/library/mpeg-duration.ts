/**
 * MP3 (MPEG-1/2/2.5 audio, layers I–III) duration with bounded reads.
 *
 * 1. The first frame after the ID3v2 tag (read at its offset when the tag is larger than the head).
 * 2. A Xing/Info header (LAME, ffmpeg, most encoders) or a VBRI header (Fraunhofer) gives the
 *    frame count: duration = frames × samples per frame ÷ sample rate.
 * 3. Without one, frames are sampled at the start and at 7 points spread over the file (4 KiB
 *    each). All at one bitrate: constant bitrate, duration = audio bytes × 8 ÷ bitrate.
 * 4. Otherwise (VBR without a header: old encoders, some rips and streams) the frame headers are
 *    counted in 1 MiB reads, up to 64 MiB; a longer file is extrapolated from what was counted.
 *    Rare, and the only case that reads a whole (ordinary-sized) file.
 */
import type { DurationInput } from './durations.js';

interface Frame {
  /** 1 (MPEG-1), 2 (MPEG-2) or 25 (MPEG-2.5). */
  version: 1 | 2 | 25;
  layer: 1 | 2 | 3;
  bitrate: number;
  rate: number;
  length: number;
  samples: number;
  mono: boolean;
}

const KBPS: Record<string, number[]> = {
  '1-1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  '1-2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  '1-3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2-1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  '2-2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const RATES: Record<number, number[]> = {
  1: [44100, 48000, 32000],
  2: [22050, 24000, 16000],
  25: [11025, 12000, 8000],
};

const SEARCH_BYTES = 64 * 1024;
const SAMPLE_BYTES = 4 * 1024;
const SAMPLE_POINTS = 7;
const SCAN_CHUNK = 1024 * 1024;
const SCAN_CAP = 64 * 1024 * 1024;

export function frameAt(buf: Buffer, at: number): Frame | null {
  if (at < 0 || at + 4 > buf.length || buf[at] !== 0xff || (buf[at + 1] & 0xe0) !== 0xe0) return null;
  const v = (buf[at + 1] >> 3) & 3;
  const l = (buf[at + 1] >> 1) & 3;
  const bi = buf[at + 2] >> 4;
  const si = (buf[at + 2] >> 2) & 3;
  if (v === 1 || l === 0 || bi === 0 || bi === 15 || si === 3 || (buf[at + 3] & 3) === 2) return null;
  const version = v === 3 ? 1 : v === 2 ? 2 : 25;
  const layer = (4 - l) as 1 | 2 | 3;
  const bitrate = KBPS[`${version === 1 ? 1 : 2}-${version !== 1 && layer === 3 ? 2 : layer}`][bi];
  const rate = RATES[version][si];
  const pad = (buf[at + 2] >> 1) & 1;
  let length: number;
  let samples: number;
  if (layer === 1) {
    length = (Math.floor((12 * bitrate * 1000) / rate) + pad) * 4;
    samples = 384;
  } else {
    samples = layer === 3 && version !== 1 ? 576 : 1152;
    length = Math.floor(((samples / 8) * bitrate * 1000) / rate) + pad;
  }
  return { version, layer, bitrate, rate, length, samples, mono: buf[at + 3] >> 6 === 3 };
}

function sameStream(a: Frame, b: Frame): boolean {
  return a.version === b.version && a.layer === b.layer && a.rate === b.rate;
}

/** The offset of the first frame at or after `from` that the next frame confirms, or -1. */
function sync(buf: Buffer, from: number, like?: Frame): number {
  for (let at = buf.indexOf(0xff, from); at >= 0 && at + 4 <= buf.length; at = buf.indexOf(0xff, at + 1)) {
    const f = frameAt(buf, at);
    if (!f || (like && !sameStream(f, like))) continue;
    const next = at + f.length;
    if (next + 4 > buf.length) return like ? at : -1; // a lone frame only counts when it matches the stream
    const g = frameAt(buf, next);
    if (g && sameStream(f, g)) return at;
  }
  return -1;
}

/** Where the audio starts: after any ID3v2 tags (a few files carry two). */
function audioStart(input: DurationInput): number {
  let at = 0;
  for (let i = 0; i < 3; i++) {
    const h = window(input, at, 10);
    if (h.length < 10 || h.toString('latin1', 0, 3) !== 'ID3') break;
    const size = ((h[6] & 0x7f) << 21) | ((h[7] & 0x7f) << 14) | ((h[8] & 0x7f) << 7) | (h[9] & 0x7f);
    at += 10 + size + (h[5] & 0x10 ? 10 : 0);
  }
  return at;
}

/** Bytes at `offset`: from the head when it has them, else one read. */
function window(input: DurationInput, offset: number, length: number): Buffer {
  if (offset + length <= input.head.length) return input.head.subarray(offset, offset + length);
  return input.read(offset, length);
}

/** Where the audio ends: before an ID3v1 tag and an APEv2 tag at the end of the file. */
function audioEnd(input: DurationInput): number {
  const tailLength = Math.min(input.size, 160);
  const tail = input.read(input.size - tailLength, tailLength);
  let end = input.size;
  if (tail.length >= 128 && tail.toString('latin1', tail.length - 128, tail.length - 125) === 'TAG') end -= 128;
  const footer = tail.length - (input.size - end) - 32;
  if (footer >= 0 && tail.toString('latin1', footer, footer + 8) === 'APETAGEX') {
    const tagSize = tail.readUInt32LE(footer + 12);
    const hasHeader = tail.readUInt32LE(footer + 20) & 0x80000000;
    end -= tagSize + (hasHeader ? 32 : 0);
  }
  return end;
}

/** Frame count from a Xing/Info or VBRI header in the first frame, or null. */
function headerFrames(buf: Buffer, at: number, f: Frame): number | null {
  const side = f.version === 1 ? (f.mono ? 17 : 32) : f.mono ? 9 : 17;
  const xing = at + 4 + side;
  const tag = buf.toString('latin1', xing, xing + 4);
  if ((tag === 'Xing' || tag === 'Info') && xing + 12 <= buf.length) {
    const flags = buf.readUInt32BE(xing + 4);
    const frames = flags & 1 ? buf.readUInt32BE(xing + 8) : 0;
    return frames > 0 ? frames : null;
  }
  const vbri = at + 4 + 32;
  if (buf.toString('latin1', vbri, vbri + 4) === 'VBRI' && vbri + 18 <= buf.length) {
    const frames = buf.readUInt32BE(vbri + 14);
    return frames > 0 ? frames : null;
  }
  return null;
}

export function mpegDuration(input: DurationInput): { seconds: number; audioBytes: number } | null {
  const searchFrom = audioStart(input);
  if (searchFrom >= input.size) return null;
  const first = window(input, searchFrom, SEARCH_BYTES);
  const rel = sync(first, 0);
  if (rel < 0) return null;
  const start = searchFrom + rel;
  const frame = frameAt(first, rel) as Frame;
  const frames = headerFrames(first, rel, frame);
  const end = audioEnd(input);
  if (end <= start) return null;
  const audioBytes = end - start;
  if (frames !== null) return { seconds: (frames * frame.samples) / frame.rate, audioBytes };
  if (constantBitrate(input, first, rel, frame, start, end)) {
    return { seconds: (audioBytes * 8) / (frame.bitrate * 1000), audioBytes };
  }
  return { seconds: (countFrames(input, frame, start, end) * frame.samples) / frame.rate, audioBytes };
}

/** True when the frames at the start and at points spread over the file share one bitrate. */
function constantBitrate(input: DurationInput, buf: Buffer, rel: number, f: Frame, start: number, end: number) {
  const sameRate = (b: Buffer, at: number, max: number) => {
    for (let i = 0; i < max && at >= 0; i++) {
      const g = frameAt(b, at);
      if (!g || !sameStream(g, f)) break;
      if (g.bitrate !== f.bitrate) return false;
      at += g.length;
    }
    return true;
  };
  if (!sameRate(buf, rel, 16)) return false;
  for (let k = 1; k <= SAMPLE_POINTS; k++) {
    const offset = start + Math.floor(((end - start) * k) / (SAMPLE_POINTS + 1));
    const sample = input.read(offset, Math.min(SAMPLE_BYTES, end - offset));
    if (!sameRate(sample, sync(sample, 0, f), 4)) return false;
  }
  return true;
}

/** Counts frame headers from `start` in bounded reads (resyncing over junk), extrapolating past the cap. */
function countFrames(input: DurationInput, like: Frame, start: number, end: number): number {
  const stop = Math.min(end, start + SCAN_CAP);
  let frames = 0;
  let pos = start;
  let buf: Buffer = Buffer.alloc(0);
  let bufStart = start;
  while (pos + 4 <= stop) {
    if (pos + 4 > bufStart + buf.length) {
      buf = input.read(pos, Math.min(SCAN_CHUNK, stop - pos));
      bufStart = pos;
      if (buf.length < 4) break;
    }
    const f = frameAt(buf, pos - bufStart);
    if (f && sameStream(f, like)) {
      frames++;
      pos += f.length;
      continue;
    }
    const next = sync(buf, pos - bufStart + 1, like);
    // Nothing in this chunk: go on from its last bytes (a header may straddle two reads).
    pos = next >= 0 ? bufStart + next : Math.max(pos + 1, bufStart + buf.length - 3);
  }
  if (stop < end && pos > start) frames = Math.round((frames * (end - start)) / (pos - start));
  return frames;
}
