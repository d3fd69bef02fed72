/**
 * Deterministic library generator for the scan benchmark.
 *
 *   npm run bench:genlib -- --files 50000 --out /tmp/lib [--seed 1]
 *
 * A few short base clips are encoded once with ffmpeg; every file is then re-tagged in
 * TypeScript (ID3v2.4/2.3 frames for MP3, Vorbis comments for FLAC/Ogg/Opus) — so 10,000 files
 * take seconds, not an ffmpeg run each. M4A files (a few) are made by ffmpeg. The tree looks
 * like a real collection: `Artist/Album (Year)/[CD n/]NN - Title.ext`, compilations, multi-disc
 * albums, multi-artist and multi-genre tags, unicode and diacritics, untagged and partially tagged
 * files, embedded and folder art, and a few corrupt files. Same seed → same bytes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// ── deterministic randomness ──
function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'Blue',
  'Night',
  'Echo',
  'River',
  'Glass',
  'Summer',
  'Velvet',
  'Ghost',
  'Golden',
  'Neon',
  'Silent',
  'Wild',
  'Paper',
  'Stone',
  'Electric',
  'Midnight',
  'Fire',
  'Ocean',
  'Crystal',
  'Shadow',
  'Dream',
  'Heart',
  'Rain',
  'Star',
  'Moon',
  'Café',
  'Señor',
  'Ångström',
  'Über',
  'Naïve',
  'Fiancée',
  'Smörgås',
  'Mañana',
  'Øresund',
  'Garçon',
  'Piñata',
];
const ARTISTS_SEED = [
  'Beyoncé',
  'Sigur Rós',
  'Björk',
  'Mötley Crüe',
  'Motörhead',
  'Zoë Keating',
  'Hüsker Dü',
  'Queensrÿche',
  'AC/DC',
  'Ludovico Einaudi',
  'Daft Punk',
  'Simon & Garfunkel',
  'Nina Simone',
  'Ólafur Arnalds',
  'Café Tacvba',
  'Jean-Michel Jarre',
  '坂本龍一',
  'Земфира',
  'Μίκης Θεοδωράκης',
  'Fela Kuti',
  'Los Ángeles Azules',
  'Amadou & Mariam',
];
const GENRES = [
  'Rock',
  'Pop',
  'Jazz',
  'Electronic',
  'Hip-Hop',
  'Classical',
  'Folk',
  'Metal',
  'Soul',
  'Ambient',
  'Reggae',
  'Blues',
  'Latin',
  'Indie',
  'Punk',
];

interface Args {
  files: number;
  out: string;
  seed: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { files: 1000, out: '', seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === '--files') args.files = Number(value);
    else if (key === '--out') args.out = value;
    else if (key === '--seed') args.seed = Number(value);
    else continue;
    i++;
  }
  if (!args.out || !Number.isInteger(args.files) || args.files < 1) {
    console.error('usage: genlib --files N --out DIR [--seed S]');
    process.exit(2);
  }
  return args;
}

// ── base clips (ffmpeg, once) ──
function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

interface Bases {
  mp3: Buffer[]; // raw MPEG frames (no tags)
  flac: { streaminfo: Buffer; frames: Buffer }[];
  ogg: Buffer[];
  opus: Buffer[];
  jpeg: Buffer;
  png: Buffer;
  dir: string;
}

function makeBases(dir: string): Bases {
  mkdirSync(dir, { recursive: true });
  const clip = (i: number) => [
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${220 + i * 110}:sample_rate=22050:duration=${1.5 + i * 0.5}`,
  ];
  const bases: Bases = { mp3: [], flac: [], ogg: [], opus: [], jpeg: Buffer.alloc(0), png: Buffer.alloc(0), dir };
  for (let i = 0; i < 3; i++) {
    const mp3 = join(dir, `b${i}.mp3`);
    if (!existsSync(mp3))
      ffmpeg([
        ...clip(i),
        '-map',
        '0:a',
        '-ac',
        '1',
        '-c:a',
        'libmp3lame',
        '-b:a',
        '64k',
        '-id3v2_version',
        '0',
        '-write_id3v1',
        '0',
        '-map_metadata',
        '-1',
        mp3,
      ]);
    bases.mp3.push(stripId3(readFileSync(mp3)));
    const flac = join(dir, `b${i}.flac`);
    if (!existsSync(flac)) ffmpeg([...clip(i), '-map', '0:a', '-ac', '1', '-c:a', 'flac', '-map_metadata', '-1', flac]);
    bases.flac.push(splitFlac(readFileSync(flac)));
    const ogg = join(dir, `b${i}.ogg`);
    if (!existsSync(ogg))
      ffmpeg([...clip(i), '-map', '0:a', '-ac', '1', '-c:a', 'libvorbis', '-q:a', '0', '-map_metadata', '-1', ogg]);
    bases.ogg.push(readFileSync(ogg));
    const opus = join(dir, `b${i}.opus`);
    if (!existsSync(opus))
      ffmpeg([
        ...clip(i),
        '-map',
        '0:a',
        '-ac',
        '1',
        '-ar',
        '48000',
        '-c:a',
        'libopus',
        '-b:a',
        '32k',
        '-map_metadata',
        '-1',
        opus,
      ]);
    bases.opus.push(readFileSync(opus));
  }
  const jpeg = join(dir, 'art.jpg');
  if (!existsSync(jpeg)) ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=160x160:d=1', '-frames:v', '1', jpeg]);
  bases.jpeg = readFileSync(jpeg);
  const png = join(dir, 'art.png');
  if (!existsSync(png)) ffmpeg(['-f', 'lavfi', '-i', 'color=c=orange:s=96x96:d=1', '-frames:v', '1', png]);
  bases.png = readFileSync(png);
  return bases;
}

function stripId3(buf: Buffer): Buffer {
  if (buf.toString('latin1', 0, 3) !== 'ID3') return buf;
  const size = ((buf[6] & 0x7f) << 21) | ((buf[7] & 0x7f) << 14) | ((buf[8] & 0x7f) << 7) | (buf[9] & 0x7f);
  return buf.subarray(10 + size);
}

function splitFlac(buf: Buffer): { streaminfo: Buffer; frames: Buffer } {
  let at = 4;
  let streaminfo: Buffer = Buffer.alloc(0);
  for (;;) {
    const last = buf[at] & 0x80;
    const type = buf[at] & 0x7f;
    const len = buf.readUIntBE(at + 1, 3);
    if (type === 0) streaminfo = buf.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    if (last) break;
  }
  return { streaminfo, frames: buf.subarray(at) };
}

/** A distinct, valid JPEG per album: the shared image with a COM segment naming the album. */
function uniqueJpeg(base: Buffer, label: string): Buffer {
  const text = Buffer.from(label, 'utf8');
  const com = Buffer.alloc(4);
  com[0] = 0xff;
  com[1] = 0xfe;
  com.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([base.subarray(0, 2), com, text, base.subarray(2)]);
}

// ── tag writers ──
export interface Tags {
  title?: string;
  artists?: string[];
  /** Join multiple artists into one value with this separator instead of multi-value frames. */
  artistJoin?: string;
  album?: string;
  albumArtist?: string;
  track?: string;
  disc?: string;
  year?: string;
  genres?: string[];
  compilation?: boolean;
  comment?: string;
  picture?: Buffer;
}

const syncsafe = (n: number) => Buffer.from([(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f]);

export function id3v2(tags: Tags, version: 3 | 4): Buffer {
  const frames: Buffer[] = [];
  const text = (values: string[]): Buffer => {
    if (version === 4) return Buffer.concat([Buffer.from([3]), Buffer.from(values.join('\u0000'), 'utf8')]);
    // v2.3 has no multi-value frames: UTF-16 with BOM, values joined by the caller.
    return Buffer.concat([Buffer.from([1, 0xff, 0xfe]), Buffer.from(values.join(' / '), 'utf16le')]);
  };
  const frame = (id: string, body: Buffer) => {
    const header = Buffer.alloc(10);
    header.write(id, 0, 'latin1');
    if (version === 4) syncsafe(body.length).copy(header, 4);
    else header.writeUInt32BE(body.length, 4);
    frames.push(header, body);
  };
  const artists = tags.artists ?? [];
  if (tags.title) frame('TIT2', text([tags.title]));
  if (artists.length > 0) frame('TPE1', text(tags.artistJoin ? [artists.join(tags.artistJoin)] : artists));
  if (tags.album) frame('TALB', text([tags.album]));
  if (tags.albumArtist) frame('TPE2', text([tags.albumArtist]));
  if (tags.track) frame('TRCK', text([tags.track]));
  if (tags.disc) frame('TPOS', text([tags.disc]));
  if (tags.year) frame(version === 4 ? 'TDRC' : 'TYER', text([tags.year]));
  if (tags.genres?.length) frame('TCON', text(version === 4 ? tags.genres : [tags.genres.join('; ')]));
  if (tags.compilation) frame('TCMP', text(['1']));
  if (tags.comment) {
    const body =
      version === 4
        ? Buffer.from(`\u0003eng\u0000${tags.comment}`, 'utf8')
        : Buffer.concat([Buffer.from([0]), Buffer.from(`eng\u0000${tags.comment}`, 'latin1')]);
    frame('COMM', body);
  }
  if (tags.picture) {
    const head = Buffer.from('\u0000image/jpeg\u0000\u0003\u0000', 'latin1');
    frame('APIC', Buffer.concat([head, tags.picture]));
  }
  const body = Buffer.concat(frames);
  const header = Buffer.alloc(10);
  header.write('ID3', 0, 'latin1');
  header[3] = version;
  syncsafe(body.length).copy(header, 6);
  return Buffer.concat([header, body]);
}

function vorbisComments(tags: Tags): Buffer {
  const entries: string[] = [];
  if (tags.title) entries.push(`TITLE=${tags.title}`);
  if (tags.artistJoin && tags.artists) entries.push(`ARTIST=${tags.artists.join(tags.artistJoin)}`);
  else for (const a of tags.artists ?? []) entries.push(`ARTIST=${a}`);
  if (tags.album) entries.push(`ALBUM=${tags.album}`);
  if (tags.albumArtist) entries.push(`ALBUMARTIST=${tags.albumArtist}`);
  if (tags.track) {
    const [n, of] = tags.track.split('/');
    entries.push(`TRACKNUMBER=${n}`);
    if (of) entries.push(`TRACKTOTAL=${of}`);
  }
  if (tags.disc) {
    const [n, of] = tags.disc.split('/');
    entries.push(`DISCNUMBER=${n}`);
    if (of) entries.push(`DISCTOTAL=${of}`);
  }
  if (tags.year) entries.push(`DATE=${tags.year}`);
  for (const g of tags.genres ?? []) entries.push(`GENRE=${g}`);
  if (tags.compilation) entries.push('COMPILATION=1');
  if (tags.comment) entries.push(`COMMENT=${tags.comment}`);
  const vendor = Buffer.from('earshot genlib', 'utf8');
  const parts: Buffer[] = [u32le(vendor.length), vendor, u32le(entries.length)];
  for (const e of entries) {
    const b = Buffer.from(e, 'utf8');
    parts.push(u32le(b.length), b);
  }
  return Buffer.concat(parts);
}

const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

function flacFile(base: { streaminfo: Buffer; frames: Buffer }, tags: Tags): Buffer {
  const blocks: { type: number; body: Buffer }[] = [
    { type: 0, body: base.streaminfo },
    { type: 4, body: vorbisComments(tags) },
  ];
  if (tags.picture) {
    const mime = Buffer.from('image/jpeg', 'latin1');
    const pic = Buffer.alloc(32 + mime.length);
    pic.writeUInt32BE(3, 0); // front cover
    pic.writeUInt32BE(mime.length, 4);
    mime.copy(pic, 8);
    // description length 0, width/height/depth/colours 0, then data length
    pic.writeUInt32BE(tags.picture.length, 28 + mime.length);
    blocks.push({ type: 6, body: Buffer.concat([pic, tags.picture]) });
  }
  const out: Buffer[] = [Buffer.from('fLaC', 'latin1')];
  blocks.forEach((b, i) => {
    const h = Buffer.alloc(4);
    h[0] = (i === blocks.length - 1 ? 0x80 : 0) | b.type;
    h.writeUIntBE(b.body.length, 1, 3);
    out.push(h, b.body);
  });
  out.push(base.frames);
  return Buffer.concat(out);
}

// ── Ogg re-paging (Vorbis and Opus comment headers) ──
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

function oggCrc(page: Buffer): number {
  let crc = 0;
  for (let i = 0; i < page.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ page[i]) & 0xff]) >>> 0;
  return crc >>> 0;
}

interface OggPage {
  flags: number;
  granule: Buffer;
  serial: number;
  segments: number[];
  data: Buffer;
}

function parseOgg(buf: Buffer): OggPage[] {
  const pages: OggPage[] = [];
  let at = 0;
  while (at + 27 <= buf.length && buf.toString('latin1', at, at + 4) === 'OggS') {
    const n = buf[at + 26];
    const segments = [...buf.subarray(at + 27, at + 27 + n)];
    const len = segments.reduce((a, b) => a + b, 0);
    const start = at + 27 + n;
    pages.push({
      flags: buf[at + 5],
      granule: buf.subarray(at + 6, at + 14),
      serial: buf.readUInt32LE(at + 14),
      segments,
      data: buf.subarray(start, start + len),
    });
    at = start + len;
  }
  return pages;
}

function writePage(p: OggPage, seq: number): Buffer {
  const h = Buffer.alloc(27 + p.segments.length);
  h.write('OggS', 0, 'latin1');
  h[4] = 0;
  h[5] = p.flags;
  p.granule.copy(h, 6);
  h.writeUInt32LE(p.serial, 14);
  h.writeUInt32LE(seq, 18);
  h[26] = p.segments.length;
  Buffer.from(p.segments).copy(h, 27);
  const page = Buffer.concat([h, p.data]);
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

/** Packets → pages (255 segments max each), header granule 0. */
function packetPages(packets: Buffer[], serial: number): OggPage[] {
  const pages: OggPage[] = [];
  for (const packet of packets) {
    const lacing: number[] = [];
    let left = packet.length;
    while (left >= 255) {
      lacing.push(255);
      left -= 255;
    }
    lacing.push(left);
    let offset = 0;
    let first = true;
    for (let i = 0; i < lacing.length; i += 255) {
      const segs = lacing.slice(i, i + 255);
      const len = segs.reduce((a, b) => a + b, 0);
      pages.push({
        flags: first ? 0 : 1,
        granule: Buffer.alloc(8),
        serial,
        segments: segs,
        data: packet.subarray(offset, offset + len),
      });
      offset += len;
      first = false;
    }
  }
  return pages;
}

function oggFile(base: Buffer, tags: Tags, codec: 'vorbis' | 'opus'): Buffer {
  const pages = parseOgg(base);
  const headerCount = codec === 'vorbis' ? 3 : 2;
  // Collect header packets from the first pages (ffmpeg flushes headers on their own pages).
  const packets: Buffer[] = [];
  let current: Buffer[] = [];
  let pageIndex = 0;
  while (packets.length < headerCount && pageIndex < pages.length) {
    const p = pages[pageIndex++];
    let offset = 0;
    for (const seg of p.segments) {
      current.push(p.data.subarray(offset, offset + seg));
      offset += seg;
      if (seg < 255) {
        packets.push(Buffer.concat(current));
        current = [];
      }
    }
  }
  const comments = vorbisComments(tags);
  packets[1] =
    codec === 'vorbis'
      ? Buffer.concat([Buffer.from([3]), Buffer.from('vorbis', 'latin1'), comments, Buffer.from([1])])
      : Buffer.concat([Buffer.from('OpusTags', 'latin1'), comments]);
  const serial = pages[0].serial;
  const head: OggPage[] = [{ ...pages[0] }, ...packetPages(packets.slice(1), serial)];
  const out: Buffer[] = [];
  let seq = 0;
  for (const p of head) out.push(writePage(p, seq++));
  for (const p of pages.slice(pageIndex)) out.push(writePage(p, seq++));
  return Buffer.concat(out);
}

// ── the library plan ──
function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)];
}

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ren',
  'sa',
  'tor',
  'vi',
  'el',
  'dra',
  'no',
  'phe',
  'lu',
  'ston',
  'ma',
  'ri',
  'quel',
  'bo',
  'zan',
  'té',
  'ñu',
  'ös',
  'gar',
  'li',
  'ven',
];
/** Coined words (1–3 syllables): real libraries have thousands of distinct title words, not a few dozen. */
function coined(rand: () => number): string {
  const n = 1 + Math.floor(rand() * 3);
  const w = Array.from({ length: n }, () => pick(rand, SYLLABLES)).join('');
  return w[0].toUpperCase() + w.slice(1);
}

function words(rand: () => number, n: number): string {
  return Array.from({ length: n }, () => (rand() < 0.35 ? pick(rand, WORDS) : coined(rand))).join(' ');
}

/**
 * Search queries nobody's library was made from: titles, names and half-typed words generated like
 * the library's but from another seed (same vocabulary style, different titles), in the same mix
 * as search-load.ts `queriesFrom` — a half-typed word, a whole title, a word, a word.
 */
export function unseenQueries(count: number, seed = 2): string[] {
  const rand = mulberry32(seed);
  const queries: string[] = [];
  for (let i = 0; i < count; i++) {
    const source = words(rand, 1 + Math.floor(rand() * 3));
    const word = source.split(' ')[0];
    queries.push(i % 4 === 0 ? word.slice(0, Math.max(2, Math.ceil(word.length / 2))) : i % 4 === 1 ? source : word);
  }
  return queries;
}

function safeName(s: string): string {
  return s
    .replace(/[/\\:*?"<>|]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 80);
}

export interface GenStats {
  files: number;
  albums: number;
  corrupt: number;
  m4a: number;
  seconds: number;
}

export function generateLibrary(args: Args): GenStats {
  const started = performance.now();
  const rand = mulberry32(args.seed);
  mkdirSync(args.out, { recursive: true });
  const bases = makeBases(join(args.out, '.genlib-base'));
  const artistCount = Math.max(4, Math.round(args.files / 45));
  const artists = Array.from({ length: artistCount }, (_, i) =>
    i < ARTISTS_SEED.length ? ARTISTS_SEED[i] : `${words(rand, 2)} ${i}`,
  );
  let written = 0;
  let albums = 0;
  let corrupt = 0;
  let m4a = 0;
  const m4aJobs: { path: string; tags: Tags }[] = [];
  while (written < args.files) {
    albums++;
    const compilation = rand() < 0.05;
    const artist = pick(rand, artists);
    const albumArtist = compilation ? 'Various Artists' : artist;
    const album = `${words(rand, 1 + Math.floor(rand() * 3))}${rand() < 0.1 ? ' (Deluxe Edition)' : ''}`;
    const year = String(1960 + Math.floor(rand() * 65));
    const discs = rand() < 0.1 ? 2 : 1;
    const perDisc = 6 + Math.floor(rand() * 9);
    const formatRoll = rand();
    let format =
      formatRoll < 0.8
        ? 'mp3'
        : formatRoll < 0.88
          ? 'flac'
          : formatRoll < 0.93
            ? 'ogg'
            : formatRoll < 0.985
              ? 'opus'
              : 'm4a';
    // ffmpeg per M4A file is slow: a few dozen are enough to exercise the format.
    if (format === 'm4a' && m4aJobs.length >= 40) format = 'mp3';
    const id3: 3 | 4 = rand() < 0.25 ? 3 : 4;
    const genres =
      rand() < 0.15
        ? [pick(rand, GENRES), pick(rand, GENRES)].filter((g, i, a) => a.indexOf(g) === i)
        : [pick(rand, GENRES)];
    const art = rand();
    const picture = art < 0.3 ? uniqueJpeg(bases.jpeg, `album ${albums}`) : undefined;
    const dir = compilation
      ? join(args.out, 'Compilations', safeName(`${album} ${albums}`))
      : join(args.out, safeName(albumArtist), safeName(`${album} (${year})`));
    mkdirSync(dir, { recursive: true });
    if (art >= 0.3 && art < 0.7) {
      const name = pick(rand, ['cover.jpg', 'Folder.jpg', 'front.JPG', 'Cover.png']);
      writeFileSync(join(dir, name), name.endsWith('png') ? bases.png : uniqueJpeg(bases.jpeg, `folder ${albums}`));
    }
    const untaggedAlbum = rand() < 0.02;
    const clip = Math.floor(rand() * 3);
    for (let d = 1; d <= discs && written < args.files; d++) {
      const discDir = discs > 1 ? join(dir, `CD ${d}`) : dir;
      if (discs > 1) mkdirSync(discDir, { recursive: true });
      for (let n = 1; n <= perDisc && written < args.files; n++) {
        const title = words(rand, 1 + Math.floor(rand() * 3));
        const trackArtists = compilation ? [pick(rand, artists)] : [artist];
        if (rand() < 0.1) trackArtists.push(pick(rand, artists));
        const partial = rand() < 0.03;
        const tags: Tags = untaggedAlbum
          ? {}
          : partial
            ? { title }
            : {
                title,
                artists: trackArtists.filter((a, i, all) => all.indexOf(a) === i),
                artistJoin: rand() < 0.5 ? '; ' : undefined,
                album,
                albumArtist:
                  compilation || trackArtists.length > 1 ? albumArtist : rand() < 0.5 ? albumArtist : undefined,
                track: `${n}/${perDisc}`,
                disc: discs > 1 ? `${d}/${discs}` : undefined,
                year,
                genres,
                compilation,
                comment: rand() < 0.05 ? 'Generated by earshot genlib' : undefined,
                picture,
              };
        const fileTitle = compilation ? `${trackArtists[0]} - ${title}` : title;
        const path = join(discDir, `${String(n).padStart(2, '0')} - ${safeName(fileTitle)}.${format}`);
        if (format === 'mp3')
          writeFileSync(
            path,
            Buffer.concat([Object.keys(tags).length ? id3v2(tags, id3) : Buffer.alloc(0), bases.mp3[clip]]),
          );
        else if (format === 'flac') writeFileSync(path, flacFile(bases.flac[clip], tags));
        else if (format === 'ogg') writeFileSync(path, oggFile(bases.ogg[clip], tags, 'vorbis'));
        else if (format === 'opus') writeFileSync(path, oggFile(bases.opus[clip], tags, 'opus'));
        else m4aJobs.push({ path, tags });
        written++;
      }
    }
  }
  // A few corrupt files (SECURITY.md 21): zero bytes, text named .mp3, huge declared ID3, truncated.
  const bad = join(args.out, 'Broken Uploads');
  mkdirSync(bad, { recursive: true });
  const corruptCount = Math.max(4, Math.round(args.files / 1000));
  for (let i = 0; i < corruptCount; i++) {
    const kind = i % 4;
    const path = join(bad, `broken ${i}.${kind === 3 ? 'flac' : 'mp3'}`);
    if (kind === 0) writeFileSync(path, '');
    else if (kind === 1) writeFileSync(path, 'This is a text file, not music.\n'.repeat(50));
    else if (kind === 2)
      writeFileSync(
        path,
        Buffer.concat([
          Buffer.from('ID3\u0004\u0000\u0000', 'latin1'),
          Buffer.from([0x7f, 0x7f, 0x7f, 0x7f]),
          Buffer.alloc(500),
        ]),
      );
    else writeFileSync(path, flacFile(bases.flac[0], { title: 'cut', picture: bases.jpeg }).subarray(0, 200));
    corrupt++;
  }
  // M4A through ffmpeg (real AAC in MP4), a handful per run, two at a time.
  for (const job of m4aJobs) {
    const meta: string[] = [];
    const t = job.tags;
    if (t.title) meta.push('-metadata', `title=${t.title}`);
    if (t.artists) meta.push('-metadata', `artist=${t.artists.join('; ')}`);
    if (t.album) meta.push('-metadata', `album=${t.album}`);
    if (t.albumArtist) meta.push('-metadata', `album_artist=${t.albumArtist}`);
    if (t.track) meta.push('-metadata', `track=${t.track}`);
    if (t.year) meta.push('-metadata', `date=${t.year}`);
    if (t.genres) meta.push('-metadata', `genre=${t.genres.join('; ')}`);
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=330:sample_rate=22050:duration=1',
      '-map',
      '0:a',
      '-ac',
      '1',
      '-c:a',
      'aac',
      '-b:a',
      '32k',
      ...meta,
      job.path,
    ]);
    m4a++;
  }
  return { files: written + corrupt, albums, corrupt, m4a, seconds: (performance.now() - started) / 1000 };
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('genlib.ts')) {
  const args = parseArgs(process.argv.slice(2));
  if (existsSync(args.out) && process.argv.includes('--clean')) rmSync(args.out, { recursive: true, force: true });
  const stats = generateLibrary(args);
  console.log(
    `generated ${stats.files} files (${stats.albums} albums, ${stats.m4a} m4a, ${stats.corrupt} corrupt) in ${args.out} — ${stats.seconds.toFixed(1)} s`,
  );
}
