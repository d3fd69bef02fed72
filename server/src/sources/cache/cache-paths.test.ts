import { describe, expect, it } from 'vitest';
import { cacheLocation, remoteIdTag, sanitizeComponent, sniffAudioExt } from './cache-paths.js';

describe('cache paths', () => {
  it('sanitises components from remote metadata', () => {
    expect(sanitizeComponent('../../etc/passwd', 'x')).toBe('_.._etc_passwd');
    expect(sanitizeComponent('..', 'Unknown')).toBe('Unknown');
    expect(sanitizeComponent('AC/DC: Back in Black?', 'x')).toBe('AC_DC_ Back in Black_');
    expect(sanitizeComponent('  .hidden  ', 'x')).toBe('hidden');
    expect(sanitizeComponent('a\u0000b\nc', 'x')).toBe('a_b_c');
    expect(sanitizeComponent(null, 'Unknown Artist')).toBe('Unknown Artist');
    expect(sanitizeComponent('Cafe\u0301', 'x')).toBe('Café');
    // Bounded in bytes without splitting a character.
    const long = sanitizeComponent('ü'.repeat(100), 'x');
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(80);
    expect(long).toBe('ü'.repeat(40));
  });

  it('names the file `<Title> [<id>].<ext>` under source/artist/album, inside the cache dir', () => {
    const loc = cacheLocation(
      '/data/cache',
      { source: 'youtube', remoteId: 'dQw4w9WgXcQ', artist: 'Rick Astley', album: null, title: 'Never / Gonna' },
      'webm',
    );
    expect(loc.relative).toBe('youtube/Rick Astley/Unknown Album/Never _ Gonna [dQw4w9WgXcQ].webm');
    expect(loc.absolute).toBe('/data/cache/youtube/Rick Astley/Unknown Album/Never _ Gonna [dQw4w9WgXcQ].webm');
    expect(loc.partAbsolute).toBe(`${loc.absolute}.part`);
    const evil = cacheLocation(
      '/data/cache',
      { source: 'url', remoteId: 'http://x/../../a', artist: '..', album: '../..', title: '../../../etc/cron.d/x' },
      'mp3',
    );
    expect(evil.absolute.startsWith('/data/cache/url/')).toBe(true);
    expect(evil.relative.split('/').includes('..')).toBe(false);
    expect(remoteIdTag('http://x/../../a')).toMatch(/^[0-9a-f]{16}$/);
  });

  it('sniffs the container from the first bytes', () => {
    const b = (s: string, pad = 64) => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.alloc(pad)]);
    expect(sniffAudioExt(b('ID3\u0004'))).toBe('mp3');
    expect(sniffAudioExt(Buffer.concat([Buffer.from([0xff, 0xfb, 0x90]), Buffer.alloc(64)]))).toBe('mp3');
    expect(sniffAudioExt(b('fLaC'))).toBe('flac');
    expect(sniffAudioExt(b('OggS\u0000\u0002'.padEnd(28, '\u0000') + 'OpusHead'))).toBe('opus');
    expect(sniffAudioExt(b('OggS\u0000\u0002'.padEnd(28, '\u0000') + '\u0001vorbis'))).toBe('ogg');
    expect(sniffAudioExt(b('\u0000\u0000\u0000\u0018ftypM4A '))).toBe('m4a');
    expect(sniffAudioExt(Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), Buffer.alloc(64)]))).toBe('webm');
    expect(sniffAudioExt(b('RIFF\u0000\u0000\u0000\u0000WAVE'))).toBe('wav');
    expect(sniffAudioExt(b('<html>'))).toBe('bin');
  });
});
