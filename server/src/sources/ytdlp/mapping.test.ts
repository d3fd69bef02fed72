/** yt-dlp JSON (`-J`, flat searches) and youtubei.js items → Earshot remote metadata. */
import { describe, expect, it } from 'vitest';
import { mapYtMusicItem } from '../providers/youtube.provider.js';
import { searchKey } from '../providers/soundcloud.provider.js';
import { mapYtDlpInfo, mapYtDlpSearch } from './mapping.js';
import { errorFromStderr } from './runner.js';

// Shapes as yt-dlp 2023.03 prints them (trimmed to the fields that matter plus some noise).
const youtubeMusicVideo = {
  id: 'dQw4w9WgXcQ',
  title: 'Rick Astley - Never Gonna Give You Up (Official Music Video)',
  track: 'Never Gonna Give You Up',
  artist: 'Rick Astley',
  album: 'Whenever You Need Somebody',
  creator: 'Rick Astley',
  uploader: 'Rick Astley',
  channel: 'Rick Astley',
  duration: 212,
  thumbnail: 'https://i.ytimg.com/vi_webp/dQw4w9WgXcQ/maxresdefault.webp',
  thumbnails: [
    { url: 'https://i.ytimg.com/vi/dQw4w9WgXcQ/default.jpg', width: 120, height: 90, preference: -13 },
    { url: 'https://i.ytimg.com/vi_webp/dQw4w9WgXcQ/maxresdefault.webp', width: 1280, height: 720, preference: -1 },
  ],
  webpage_url: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ',
  extractor: 'youtube',
  extractor_key: 'Youtube',
  formats: [{ format_id: '251', ext: 'webm', acodec: 'opus', vcodec: 'none' }],
  _type: 'video',
};

const youtubeTopicUpload = {
  id: 'abcdefghijk',
  title: 'Some Song',
  uploader: 'Some Band - Topic',
  channel: 'Some Band - Topic',
  duration: 185.0,
  thumbnails: [{ url: 'https://i.ytimg.com/vi/abcdefghijk/hqdefault.jpg', width: 480 }],
  extractor_key: 'Youtube',
};

const soundcloudTrack = {
  id: '1234567890',
  uploader: 'dj someone',
  uploader_id: '998877',
  title: 'Night Drive (Extended Mix)',
  description: 'Out now',
  thumbnails: [
    { id: 'mini', url: 'https://i1.sndcdn.com/artworks-000-mini.jpg', width: 16, height: 16 },
    { id: 't500x500', url: 'https://i1.sndcdn.com/artworks-000-t500x500.jpg', width: 500, height: 500 },
    { id: 'original', url: 'https://i1.sndcdn.com/artworks-000-original.jpg', preference: 10 },
  ],
  duration: 402.5,
  webpage_url: 'https://soundcloud.com/dj-someone/night-drive',
  genre: 'House',
  extractor: 'soundcloud',
  extractor_key: 'Soundcloud',
};

// Exactly what `yt-dlp -J -- http://127.0.0.1:8501/a.mp3` printed on the test machine.
const genericDirectFile = {
  id: 'a',
  title: 'a',
  timestamp: 1795321621.0,
  direct: true,
  formats: [{ format_id: 'mpeg', url: 'http://127.0.0.1:8501/a.mp3', vcodec: 'none', ext: 'mp3', protocol: 'http' }],
  webpage_url: 'http://127.0.0.1:8501/a.mp3',
  original_url: 'http://127.0.0.1:8501/a.mp3',
  webpage_url_basename: 'a.mp3',
  extractor: 'generic',
  extractor_key: 'Generic',
  display_id: 'a',
  fulltitle: 'a',
  upload_date: '20261122',
  _type: 'video',
};

describe('mapYtDlpInfo', () => {
  it('uses the music fields of a YouTube Music video', () => {
    expect(mapYtDlpInfo(youtubeMusicVideo)).toEqual({
      source: 'youtube',
      remoteId: 'dQw4w9WgXcQ',
      title: 'Never Gonna Give You Up',
      artist: 'Rick Astley',
      album: 'Whenever You Need Somebody',
      duration: 212,
      thumbnailUrl: 'https://i.ytimg.com/vi_webp/dQw4w9WgXcQ/maxresdefault.webp',
      webpageUrl: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ',
      extractor: 'Youtube',
    });
  });

  it('falls back to the uploader, without YouTube’s " - Topic" suffix', () => {
    expect(mapYtDlpInfo(youtubeTopicUpload)).toMatchObject({
      title: 'Some Song',
      artist: 'Some Band',
      album: null,
      duration: 185,
      thumbnailUrl: 'https://i.ytimg.com/vi/abcdefghijk/hqdefault.jpg',
    });
  });

  it('maps a SoundCloud track (numeric id, widest thumbnail)', () => {
    expect(mapYtDlpInfo(soundcloudTrack)).toMatchObject({
      source: 'soundcloud',
      remoteId: '1234567890',
      title: 'Night Drive (Extended Mix)',
      artist: 'dj someone',
      duration: 402.5,
      thumbnailUrl: 'https://i1.sndcdn.com/artworks-000-t500x500.jpg',
    });
  });

  it('a generic URL keeps the URL the user gave as its remote id', () => {
    expect(mapYtDlpInfo(genericDirectFile, 'http://127.0.0.1:8501/a.mp3')).toEqual({
      source: 'url',
      remoteId: 'http://127.0.0.1:8501/a.mp3',
      title: 'a',
      artist: null,
      album: null,
      duration: null,
      thumbnailUrl: null,
      webpageUrl: 'http://127.0.0.1:8501/a.mp3',
      extractor: 'Generic',
    });
  });

  it('a pasted YouTube link becomes a youtube item (one catalog row however it was found)', () => {
    expect(mapYtDlpInfo(youtubeMusicVideo, 'https://youtu.be/dQw4w9WgXcQ')).toMatchObject({
      source: 'youtube',
      remoteId: 'dQw4w9WgXcQ',
    });
  });

  it('rejects junk and ignores non-http thumbnails', () => {
    expect(() => mapYtDlpInfo(null)).toThrow();
    expect(() => mapYtDlpInfo({ title: 'no id', extractor_key: 'Youtube' })).toThrow(/no id/);
    expect(
      mapYtDlpInfo({ ...youtubeTopicUpload, thumbnails: [{ url: 'file:///etc/passwd' }] }).thumbnailUrl,
    ).toBeNull();
  });
});

describe('mapYtDlpSearch', () => {
  it('maps a flat `scsearch` playlist', () => {
    const flat = {
      _type: 'playlist',
      id: 'night drive',
      title: 'night drive',
      extractor_key: 'SoundcloudSearch',
      entries: [
        { _type: 'url', ie_key: 'Soundcloud', url: 'https://api.soundcloud.com/tracks/1234567890', ...soundcloudTrack },
        {
          _type: 'url',
          ie_key: 'Soundcloud',
          url: 'https://api.soundcloud.com/tracks/42',
          id: '42',
          title: 'Other',
          uploader: 'x',
          duration: 60,
        },
        { _type: 'url', url: 'https://api.soundcloud.com/tracks/x' }, // no id: skipped
      ],
    };
    const items = mapYtDlpSearch(flat, 'soundcloud');
    expect(items.map((i) => [i.source, i.remoteId, i.title, i.artist])).toEqual([
      ['soundcloud', '1234567890', 'Night Drive (Extended Mix)', 'dj someone'],
      ['soundcloud', '42', 'Other', 'x'],
    ]);
  });

  it('search keys keep the text in one bounded argument', () => {
    expect(searchKey('scsearch', 'night\ndrive\0', 5)).toBe('scsearch5:night drive');
    expect(searchKey('scsearch', 'x'.repeat(500), 500)).toBe(`scsearch50:${'x'.repeat(200)}`);
  });
});

describe('youtubei.js music items', () => {
  it('maps a song item', () => {
    expect(
      mapYtMusicItem({
        id: 'dQw4w9WgXcQ',
        title: 'Never Gonna Give You Up',
        item_type: 'song',
        duration: { seconds: 213 },
        album: { name: 'Whenever You Need Somebody' },
        artists: [{ name: 'Rick Astley' }],
        thumbnails: [
          { url: 'https://lh3.googleusercontent.com/a=w120', width: 120 },
          { url: 'https://lh3.googleusercontent.com/a=w544', width: 544 },
        ],
      }),
    ).toEqual({
      source: 'youtube',
      remoteId: 'dQw4w9WgXcQ',
      title: 'Never Gonna Give You Up',
      artist: 'Rick Astley',
      album: 'Whenever You Need Somebody',
      duration: 213,
      thumbnailUrl: 'https://lh3.googleusercontent.com/a=w544',
      webpageUrl: 'https://music.youtube.com/watch?v=dQw4w9WgXcQ',
      extractor: 'Youtube',
    });
    expect(mapYtMusicItem({ id: 'not-an-id', title: 'x' })).toBeNull();
  });
});

describe('errorFromStderr', () => {
  it('keeps yt-dlp’s ERROR line and never echoes proxy credentials', () => {
    const stderr = `[generic] Extracting URL: x\nWARNING: foo\nERROR: Unable to download webpage: HTTP Error 500 via http://${'a'.repeat(36)}:x@127.0.0.1:4321\n`;
    expect(errorFromStderr(stderr)).toBe('Unable to download webpage: HTTP Error 500 via <proxy>');
    const noisy =
      "ERROR: [generic] None: Unable to download webpage: HTTP Error 500: Internal Server Error (caused by <HTTPError 500: 'Internal Server Error'>); please report this issue on  https://github.com/yt-dlp/yt-dlp/issues?q= , filling out the appropriate issue template.";
    expect(errorFromStderr(noisy)).toBe(
      '[generic] None: Unable to download webpage: HTTP Error 500: Internal Server Error',
    );
  });
});
