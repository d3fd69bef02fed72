import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio } from '../test/audio.js';
import { readTrack } from './tag-worker.js';
import {
  albumFolder,
  albumGroupKey,
  FOLDER_ART,
  foldKey,
  folderArtRank,
  hintsFromPath,
  splitNames,
  yearFromFolder,
} from './tags.js';

const SEPARATORS = [';', ' / '];
const dir = mkdtempSync(join(tmpdir(), 'earshot-tags-'));
const read = (path: string, rel = 'x.mp3') =>
  readTrack({ id: 1, abs: path, rel, size: statSync(path).size, lrc: null }, SEPARATORS);

/** A minimal ID3v2.4 tag (UTF-8 text frames) in front of real MPEG frames. */
function id3v24(frames: Record<string, Buffer>): Buffer {
  const parts: Buffer[] = [];
  const syncsafe = (n: number) => Buffer.from([(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f]);
  for (const [id, body] of Object.entries(frames)) {
    const h = Buffer.alloc(10);
    h.write(id, 0, 'latin1');
    syncsafe(body.length).copy(h, 4);
    parts.push(h, body);
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from('ID3\u0004\u0000\u0000', 'latin1'), syncsafe(body.length), body]);
}

let mpegFrames: Buffer;

beforeAll(async () => {
  const raw = join(dir, 'raw.mp3');
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'sine=duration=1',
    '-map',
    '0:a',
    '-c:a',
    'libmp3lame',
    '-id3v2_version',
    '0',
    '-write_id3v1',
    '0',
    raw,
  ]);
  mpegFrames = readFileSync(raw);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('name splitting and keys', () => {
  it('splits on the configured separators and keeps AC/DC whole', () => {
    expect(splitNames('Alpha; Beta / Gamma', SEPARATORS)).toEqual(['Alpha', 'Beta', 'Gamma']);
    expect(splitNames('AC/DC', SEPARATORS)).toEqual(['AC/DC']);
    expect(splitNames('AC/DC; Alpha', [';', '/'])).toEqual(['AC/DC', 'Alpha']);
    expect(splitNames('Simon & Garfunkel', [' & '])).toEqual(['Simon & Garfunkel']);
    expect(splitNames('Alpha;alpha; ;', SEPARATORS)).toEqual(['Alpha']);
  });

  it('folds case and diacritics for grouping', () => {
    expect(foldKey('  Beyoncé  KNOWLES ')).toBe('beyonce knowles');
    const tagged = { albumArtistTagged: true, mbzAlbumId: null };
    expect(albumGroupKey({ ...tagged, albumArtist: 'Björk', album: 'Homogenic' }, 'a/x.mp3')).toBe(
      albumGroupKey({ ...tagged, albumArtist: 'bjork', album: 'HOMOGENIC' }, 'b/y.mp3'),
    );
    expect(albumGroupKey({ ...tagged, albumArtist: 'A', album: 'Greatest Hits', mbzAlbumId: 'x' }, 'a/1.mp3')).not.toBe(
      albumGroupKey({ ...tagged, albumArtist: 'A', album: 'Greatest Hits', mbzAlbumId: 'y' }, 'a/1.mp3'),
    );
  });

  it('groups albums without a tagged album artist by folder + album, disc folders counting as their parent', () => {
    const untagged = (albumArtist: string, rel: string) =>
      albumGroupKey({ albumArtist, albumArtistTagged: false, album: 'Live', mbzAlbumId: null }, rel);
    // Different track artists in one folder: one album.
    expect(untagged('One', 'X/Live/01.mp3')).toBe(untagged('Two', 'X/Live/02.mp3'));
    expect(untagged('One', 'X/Live/CD1/01.mp3')).toBe(untagged('One', 'X/Live/cd 2/01.mp3'));
    // The same album name in another folder is another album.
    expect(untagged('One', 'X/Live/01.mp3')).not.toBe(untagged('One', 'Y/Live/01.mp3'));
    expect(albumFolder('X/Live/Disc 2/01.mp3')).toBe('X/Live');
    expect(albumFolder('01.mp3')).toBe('');
  });

  it('reads Artist/Album/NN - Title, disc folders and Artist - Title file names', () => {
    expect(hintsFromPath('Artist/Album/07 - Title.mp3')).toMatchObject({
      artist: 'Artist',
      album: 'Album',
      title: 'Title',
      trackNumber: 7,
    });
    expect(hintsFromPath('Artist/Album/CD2/03. Title.flac')).toMatchObject({
      artist: 'Artist',
      album: 'Album',
      title: 'Title',
      trackNumber: 3,
      discNumber: 2,
    });
    expect(hintsFromPath('Artist/Album/1-05 Title.flac')).toMatchObject({
      discNumber: 1,
      trackNumber: 5,
      title: 'Title',
    });
    expect(hintsFromPath('Some Artist - Some Title.ogg')).toMatchObject({
      artist: 'Some Artist',
      title: 'Some Title',
      album: null,
    });
    expect(hintsFromPath('Mixes/Artist - Title.mp3')).toMatchObject({
      artist: 'Artist',
      title: 'Title',
      album: 'Mixes',
    });
  });

  it('reads folder names as a person would: underscores, years, generic folders, numbered file names', () => {
    expect(hintsFromPath('albums/live_at_the_hall/track2.opus')).toEqual({
      artist: null, // "albums" is where music is kept, not who made it
      album: 'live at the hall',
      title: 'track2',
      trackNumber: 2,
      discNumber: null,
      year: null,
    });
    expect(hintsFromPath('collection/albums/crimson__island/Track 10.opus')).toMatchObject({
      artist: null,
      album: 'crimson island',
      trackNumber: 10,
    });
    for (const folder of [
      'Crimson Island (2007)',
      'Crimson Island [2007]',
      '2007 - Crimson Island',
      '[2007] Crimson Island',
      'Crimson Island - 2007',
    ]) {
      expect(hintsFromPath(`The Band/${folder}/01 - Song.flac`)).toMatchObject({
        artist: 'The Band',
        album: 'Crimson Island',
        year: 2007,
        trackNumber: 1,
        title: 'Song',
      });
    }
    // A number that is the whole name, or not a year.
    expect(yearFromFolder('1999')).toEqual({ name: '1999', year: null });
    expect(yearFromFolder('Album 2007')).toEqual({ name: 'Album 2007', year: null });
    expect(hintsFromPath('Music/Soundtracks/The_Film/07.mp3')).toMatchObject({
      artist: null,
      album: 'The Film',
      trackNumber: 7,
    });
    expect(hintsFromPath('MUSIC/CD1/05 Song.mp3')).toMatchObject({
      artist: null,
      album: null,
      discNumber: 1,
      trackNumber: 5,
    });
    expect(hintsFromPath('Artist/Album/Disc 2/part_3.ogg')).toMatchObject({
      artist: 'Artist',
      album: 'Album',
      discNumber: 2,
      trackNumber: 3,
    });
    expect(hintsFromPath('Artist/Album/Intro.mp3').trackNumber).toBeNull();
  });

  it('picks albumcover, album, cover, folder and front images as the folder image, case-insensitively', () => {
    for (const name of ['cover.jpg', 'Folder.PNG', 'FRONT.jpeg', 'AlbumCover.webp', 'album.gif', 'Album.JPG'])
      expect(FOLDER_ART.test(name)).toBe(true);
    for (const name of ['back.jpg', 'cover.txt', 'albumart.jpg', 'my cover.jpg'])
      expect(FOLDER_ART.test(name)).toBe(false);
    const ranked = ['album.jpg', 'front.jpg', 'AlbumCover.png', 'Cover.jpg', 'folder.jpg'].sort(
      (a, b) => folderArtRank(a) - folderArtRank(b),
    );
    expect(ranked).toEqual(['Cover.jpg', 'folder.jpg', 'front.jpg', 'AlbumCover.png', 'album.jpg']);
  });
});

describe('tag reading per format', () => {
  it('ID3v1 only', async () => {
    // ffmpeg 5 does not write ID3v1 reliably: append the 128-byte TAG block ourselves.
    const v1 = Buffer.alloc(128);
    v1.write('TAG', 0, 'latin1');
    v1.write('Old Title', 3, 'latin1');
    v1.write('Old Artist', 33, 'latin1');
    v1.write('Old Album', 63, 'latin1');
    v1.write('1994', 93, 'latin1');
    v1[127] = 17; // Rock
    const path = join(dir, 'v1.mp3');
    // Large enough that the tag is beyond the 256 KiB head the reader parses first.
    writeFileSync(path, Buffer.concat([...Array.from({ length: 24 }, () => mpegFrames), v1]));
    const r = await read(path);
    expect(r).toMatchObject({
      ok: true,
      tags: { title: 'Old Title', artists: ['Old Artist'], album: 'Old Album', year: 1994, genres: ['Rock'] },
    });
  });

  it('ID3v2.3 with separators and ID3v2.4 with repeated values', async () => {
    const v23 = await makeAudio(join(dir, 'v23.mp3'), {
      id3v2Version: 3,
      tags: { title: 'T', artist: 'One / Two', genre: 'Rock;Jazz' },
    });
    expect(await read(v23)).toMatchObject({ ok: true, tags: { artists: ['One', 'Two'], genres: ['Rock', 'Jazz'] } });
    const utf8 = (s: string) => Buffer.concat([Buffer.from([3]), Buffer.from(s, 'utf8')]);
    const path = join(dir, 'v24.mp3');
    writeFileSync(
      path,
      Buffer.concat([
        id3v24({
          TIT2: utf8('Ünïcode'),
          TPE1: utf8('Un\u0000Deux\u0000Trois'),
          TCON: utf8('Pop\u0000Soul'),
          TPOS: utf8('2/3'),
        }),
        mpegFrames,
      ]),
    );
    expect(await read(path)).toMatchObject({
      ok: true,
      tags: {
        title: 'Ünïcode',
        artists: ['Un', 'Deux', 'Trois'],
        genres: ['Pop', 'Soul'],
        discNumber: 2,
        discTotal: 3,
      },
    });
  });

  it('WAV (RIFF INFO) and untagged WAV', async () => {
    const tagged = await makeAudio(join(dir, 'w.wav'), { tags: { title: 'Wave Title', artist: 'Wave Artist' } });
    expect(await read(tagged, 'A/B/w.wav')).toMatchObject({
      ok: true,
      tags: { title: 'Wave Title', artists: ['Wave Artist'], codec: 'PCM', format: 'wav' },
    });
    const bare = await makeAudio(join(dir, 'bare.wav'));
    expect(await read(bare, 'Folder Artist/Folder Album/02 - Bare.wav')).toMatchObject({
      ok: true,
      tags: { title: 'Bare', artists: ['Folder Artist'], album: 'Folder Album', trackNumber: 2 },
    });
  });
});

describe('hostile files (SECURITY.md 21)', () => {
  it('1 MB tag values and invalid UTF-8 are read, capped and cleaned', async () => {
    const path = join(dir, 'big.mp3');
    const invalid = Buffer.concat([Buffer.from([3]), Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0x41])]);
    writeFileSync(
      path,
      Buffer.concat([
        id3v24({ TIT2: Buffer.concat([Buffer.from([3]), Buffer.alloc(1024 * 1024, 0x61)]), TPE1: invalid }),
        mpegFrames,
      ]),
    );
    const r = await read(path);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.tags.title.length).toBeLessThanOrEqual(1024);
      expect(r.tags.artists[0]).toContain('A');
    }
  });

  it('an MP4 atom of size 0 or past the end, and a huge declared ID3 size, are refused before parsing', async () => {
    const zero = join(dir, 'zero.m4a');
    writeFileSync(
      zero,
      Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from('ftypM4A ', 'latin1'), Buffer.alloc(200)]),
    );
    expect(await read(zero)).toMatchObject({ ok: false, reason: expect.stringMatching(/size 0/) });
    const past = join(dir, 'past.m4a');
    writeFileSync(
      past,
      Buffer.concat([
        Buffer.from([0, 0, 0, 0x20]),
        Buffer.from('ftypM4A ', 'latin1'),
        Buffer.alloc(20),
        Buffer.from([0x7f, 0, 0, 0]),
        Buffer.from('moov', 'latin1'),
        Buffer.alloc(100),
      ]),
    );
    expect(await read(past)).toMatchObject({ ok: false, reason: expect.stringMatching(/truncated MP4/) });
    const huge = join(dir, 'huge.mp3');
    writeFileSync(
      huge,
      Buffer.concat([
        Buffer.from('ID3\u0004\u0000\u0000', 'latin1'),
        Buffer.from([0x7f, 0x7f, 0x7f, 0x7f]),
        mpegFrames,
      ]),
    );
    expect(await read(huge)).toMatchObject({ ok: false, reason: expect.stringMatching(/declares/) });
  });
});
