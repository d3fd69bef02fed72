/**
 * Ogg header packets (identification, comments, setup), read page by page with small reads.
 *
 * Why the tag worker reads them itself:
 * - A comment packet with an embedded cover (METADATA_BLOCK_PICTURE, as mutagen, picard, beets and
 *   yt-dlp write it) is often larger than the 256 KiB head. Parsed from the head, music-metadata
 *   returned a truncated picture; parsed from the whole file, it walked every page. The headers'
 *   end is found here and exactly those bytes are parsed.
 * - music-metadata decodes such a picture one character at a time (`Uint8Array.from(atob(s), fn)`,
 *   ~1 s for a 1 MB cover on a busy Pi-class CPU): it parses with `skipCovers` and the pictures are
 *   decoded here with Buffer's base64.
 * - music-metadata reads only the first page of a FLAC-in-Ogg file (STREAMINFO) and none of the
 *   metadata blocks after it. Each header packet of that mapping is a native FLAC metadata block,
 *   so `oggFlacMetadata` rebuilds the metadata of a native FLAC file ("fLaC" + blocks) to parse.
 */
import type { IPicture } from 'music-metadata';
import type { ReadAt } from './durations.js';

/** Comments plus the largest picture the scanner keeps (16 MiB, base64) and slack. */
const MAX_HEADER_BYTES = 24 * 1024 * 1024;
const MAX_PAGES = 8192;

export interface OggHeaders {
  codec: 'vorbis' | 'opus' | 'flac' | 'speex';
  packets: Buffer[];
  /** Offset of the first page after the header packets. */
  end: number;
}

/** The first stream's header packets, or null for another codec or a file cut short. */
export function readOggHeaders(read: ReadAt, size: number): OggHeaders | null {
  let codec: OggHeaders['codec'] | null = null;
  let wanted = 0;
  const packets: Buffer[] = [];
  let partial: Buffer[] = [];
  let serial: number | null = null;
  let at = 0;
  for (let pages = 0; pages < MAX_PAGES && at + 27 <= size && at < MAX_HEADER_BYTES; pages++) {
    const header = read(at, 27 + 255);
    if (header.length < 27 || header.toString('latin1', 0, 4) !== 'OggS') return null;
    const segments = header[26];
    if (header.length < 27 + segments) return null;
    const lacing = header.subarray(27, 27 + segments);
    const bodyLength = lacing.reduce((sum, n) => sum + n, 0);
    const bodyAt = at + 27 + segments;
    at = bodyAt + bodyLength;
    serial ??= header.readUInt32LE(14);
    if (header.readUInt32LE(14) !== serial) continue; // another multiplexed stream
    const body = read(bodyAt, bodyLength);
    if (body.length < bodyLength) return null;
    let offset = 0;
    for (const n of lacing) {
      partial.push(body.subarray(offset, offset + n));
      offset += n;
      if (n === 255) continue;
      const packet = Buffer.concat(partial);
      partial = [];
      packets.push(packet);
      if (packets.length === 1) {
        if (packet.toString('latin1', 0, 7) === '\x01vorbis') [codec, wanted] = ['vorbis', 3];
        else if (packet.toString('latin1', 0, 8) === 'OpusHead') [codec, wanted] = ['opus', 2];
        else if (packet.toString('latin1', 0, 8) === 'Speex   ') [codec, wanted] = ['speex', 2];
        else if (packet.length >= 17 && packet.toString('latin1', 0, 5) === '\x7fFLAC') {
          // 0x7F "FLAC", version (2), header packets that follow (2; 0 = unknown), "fLaC", STREAMINFO.
          codec = 'flac';
          wanted = packet.readUInt16BE(7) ? 1 + packet.readUInt16BE(7) : 0;
          if (packet[13] & 0x80) wanted = 1; // STREAMINFO is the last block
        } else return null;
      } else if (codec === 'flac' && wanted === 0 && (packet[0] === 0xff || packet[0] & 0x80)) {
        // No count: until the block flagged last, or the first audio frame (sync 0xFFF8).
        if (packet[0] === 0xff) packets.pop();
        wanted = packets.length;
      }
      if (wanted > 0 && packets.length >= wanted) return { codec: codec as OggHeaders['codec'], packets, end: at };
    }
  }
  return null;
}

/** "fLaC" + the metadata blocks of a FLAC-in-Ogg file, for music-metadata's FLAC parser. */
export function oggFlacMetadata(headers: OggHeaders): Buffer | null {
  if (headers.codec !== 'flac') return null;
  const blocks = headers.packets.slice(1).map((p) => Buffer.from(p));
  const last = blocks.length > 0 ? blocks[blocks.length - 1] : null;
  const first = Buffer.from(headers.packets[0].subarray(9));
  // music-metadata stops at the block flagged last.
  if (last) last[0] |= 0x80;
  else first[4] |= 0x80;
  return Buffer.concat([first, ...blocks]);
}

/** Embedded pictures: METADATA_BLOCK_PICTURE comments, and FLAC PICTURE blocks in Ogg FLAC. */
export function oggPictures(headers: OggHeaders): IPicture[] {
  const pictures: IPicture[] = [];
  for (const [i, p] of headers.packets.entries()) {
    if (i === 0) continue;
    let comments: number | null = null;
    if (headers.codec === 'vorbis' && p.toString('latin1', 0, 7) === '\x03vorbis') comments = 7;
    else if (headers.codec === 'opus' && p.toString('latin1', 0, 8) === 'OpusTags') comments = 8;
    else if (headers.codec === 'speex' && i === 1) comments = 0;
    else if (headers.codec === 'flac' && (p[0] & 0x7f) === 4) comments = 4;
    else if (headers.codec === 'flac' && (p[0] & 0x7f) === 6) {
      const picture = pictureBlock(p.subarray(4));
      if (picture) pictures.push(picture);
    }
    if (comments !== null) {
      for (const value of pictureComments(p, comments)) {
        const picture = pictureBlock(Buffer.from(value, 'base64'));
        if (picture) pictures.push(picture);
      }
    }
  }
  return pictures;
}

/** The values of METADATA_BLOCK_PICTURE comments (any case) in a Vorbis comment list at `at`. */
function pictureComments(p: Buffer, at: number): string[] {
  const values: string[] = [];
  if (at + 8 > p.length) return values;
  at += 4 + p.readUInt32LE(at); // vendor string
  if (at + 4 > p.length) return values;
  const count = p.readUInt32LE(at);
  at += 4;
  const key = 'METADATA_BLOCK_PICTURE=';
  for (let i = 0; i < count && at + 4 <= p.length; i++) {
    const length = p.readUInt32LE(at);
    at += 4;
    if (at + length > p.length) break;
    if (length > key.length && p.toString('latin1', at, at + key.length).toUpperCase() === key) {
      values.push(p.toString('latin1', at + key.length, at + length));
    }
    at += length;
  }
  return values;
}

const PICTURE_TYPES: Record<number, string> = { 0: 'Other', 3: 'Cover (front)', 4: 'Cover (back)' };

/** A FLAC picture block body (type, MIME, description, size, colours, data), or null when malformed. */
export function pictureBlock(b: Buffer): IPicture | null {
  if (b.length < 32) return null;
  let at = 0;
  const type = b.readUInt32BE(at);
  const mimeLength = b.readUInt32BE(at + 4);
  at += 8;
  if (at + mimeLength + 4 > b.length) return null;
  const format = b.toString('latin1', at, at + mimeLength);
  at += mimeLength;
  const descLength = b.readUInt32BE(at);
  at += 4;
  if (at + descLength + 20 > b.length) return null;
  const description = b.toString('utf8', at, at + descLength);
  at += descLength + 16; // width, height, depth, colours
  const dataLength = b.readUInt32BE(at);
  at += 4;
  if (dataLength === 0 || at + dataLength > b.length) return null;
  return { format, type: PICTURE_TYPES[type] ?? 'Other', description, data: b.subarray(at, at + dataLength) };
}
