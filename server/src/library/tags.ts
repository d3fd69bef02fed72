/**
 * Turns music-metadata's output into the fields Earshot stores, with the folder-name fallback
 * and multi-valued artists/genres. Pure functions: used inside the tag-reading workers and
 * unit-tested directly.
 */
import { basename, extname } from 'node:path';
import type { IAudioMetadata } from 'music-metadata';
import { foldKey } from '../shared/fold-key.js';

export const UNKNOWN_ARTIST = 'Unknown Artist';
export const UNKNOWN_ALBUM = 'Unknown Album';
export const VARIOUS_ARTISTS = 'Various Artists';
/** Lyrics longer than this are cut (a tag of megabytes is hostile, not a song). */
export const LYRICS_MAX = 100_000;

/** Extensions the scanner reads (music-metadata parses all of them). */
export const AUDIO_EXTENSIONS = new Set([
  '.mp3',
  '.flac',
  '.m4a',
  '.m4b',
  '.mp4',
  '.aac',
  '.alac',
  '.ogg',
  '.oga',
  '.opus',
  '.wav',
  '.wma',
  '.aif',
  '.aiff',
  '.ape',
  '.wv',
  '.mpc',
]);

/** Folder artwork names, in order of preference (any image extension, case-insensitive). */
export const FOLDER_ART = /^(cover|folder|front|albumcover|album)\.(jpe?g|png|webp|gif)$/i;
const FOLDER_ART_RANK = ['cover', 'folder', 'front', 'albumcover', 'album'];
export function folderArtRank(name: string): number {
  return FOLDER_ART_RANK.indexOf(name.slice(0, name.indexOf('.')).toLowerCase());
}

/** Names that contain a separator character but are one artist. */
export const ARTIST_EXCEPTIONS = ['AC/DC', 'AC;DC', 'Ke$ha / Kesha', 'Simon & Garfunkel', 'Earth, Wind & Fire'];

export interface TrackTags {
  title: string;
  artists: string[];
  albumArtist: string;
  /**
   * The album artist comes from a tag (or the compilation flag): the album is grouped by album
   * artist + album. Otherwise `albumArtist` is the track artist and the album is grouped by
   * folder + album (the group phase makes it "Various Artists" when its track artists differ).
   */
  albumArtistTagged: boolean;
  album: string;
  trackNumber: number | null;
  trackTotal: number | null;
  discNumber: number | null;
  discTotal: number | null;
  year: number | null;
  date: string | null;
  genres: string[];
  compilation: boolean;
  duration: number | null;
  format: string;
  codec: string | null;
  bitrate: number | null;
  sampleRate: number | null;
  channels: number | null;
  rgTrackGain: number | null;
  rgTrackPeak: number | null;
  rgAlbumGain: number | null;
  rgAlbumPeak: number | null;
  mbzTrackId: string | null;
  mbzRecordingId: string | null;
  mbzAlbumId: string | null;
  mbzArtistId: string | null;
  mbzAlbumArtistId: string | null;
  lyrics: string | null;
  comment: string | null;
}

/** Re-exported: the scanner's modules take it from here with the rest of the tag helpers. */
export { foldKey };

const clean = (s: string | undefined | null, max = 1024): string | null => {
  if (typeof s !== 'string') return null;
  // Drop NULs and control characters some taggers leave behind; cap absurd values (tags.test.ts).
  const t = s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '').trim();
  return t.length === 0 ? null : t.slice(0, max);
};

/**
 * Splits one tag value on the configured separators, keeping known names like "AC/DC" whole.
 * @example splitNames('A; B / AC/DC', [';', ' / ']) → ['A', 'B', 'AC/DC']
 */
export function splitNames(value: string, separators: string[]): string[] {
  if (!separators.some((sep) => value.includes(sep))) {
    // One name (most tags): what the splitting below would return for it.
    const name = clean(value);
    return name ? [name] : [];
  }
  let text = value;
  const kept: string[] = [];
  for (const name of ARTIST_EXCEPTIONS) {
    const at = text.toLowerCase().indexOf(name.toLowerCase());
    if (at >= 0 && separators.some((s) => name.includes(s))) {
      kept.push(text.slice(at, at + name.length));
      text = `${text.slice(0, at)}\u0001${kept.length - 1}\u0001${text.slice(at + name.length)}`;
    }
  }
  let parts = [text];
  for (const sep of separators) parts = parts.flatMap((p) => p.split(sep));
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of parts) {
    const restored = raw.replace(/\u0001(\d+)\u0001/g, (_, i: string) => kept[Number(i)]);
    const name = clean(restored);
    const key = name ? foldKey(name) : '';
    if (name && !seen.has(key)) {
      seen.add(key);
      out.push(name);
    }
  }
  return out;
}

export function splitAll(values: (string | undefined)[] | undefined, separators: string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const v of values ?? []) {
    if (!v) continue;
    for (const name of splitNames(v, separators)) {
      const key = foldKey(name);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(name);
      }
    }
  }
  return out;
}

export interface PathHints {
  artist: string | null;
  album: string | null;
  title: string;
  trackNumber: number | null;
  discNumber: number | null;
  /** A year the album folder's name carries (`Album (2007)`, `[2007] Album`, `2007 - Album`). */
  year: number | null;
}

const DISC_FOLDER = /^(?:cd|dis[ck])\s*[-_.]?\s*(\d{1,2})$/i;

/**
 * Folder names that say where music is kept, not who made it or which album it is
 * (compared folded: case, accents and `_` do not matter).
 */
export const GENERIC_FOLDERS = new Set([
  'music',
  'my music',
  'musik',
  'musique',
  'música',
  'audio',
  'media',
  'albums',
  'artists',
  'songs',
  'tracks',
  'singles',
  'soundtracks',
  'compilations',
  'various',
  'various artists',
  'misc',
  'other',
  'others',
  'collection',
  'library',
  'downloads',
  'download',
  'incoming',
  'new',
  'unsorted',
  'itunes',
  'itunes media',
  'mp3',
  'mp3s',
  'flac',
  'ogg',
  'opus',
  'aac',
  'm4a',
  'wav',
  'unknown',
  'unknown artist',
  'unknown album',
]);

/** `live_at_the_hall` → "live at the hall"; runs of spaces become one. */
export function tidyName(name: string): string {
  return name.replace(/_/g, ' ').replace(/\s+/g, ' ').trim();
}

function isGeneric(name: string): boolean {
  return GENERIC_FOLDERS.has(foldKey(tidyName(name))) || DISC_FOLDER.test(name.trim());
}

const YEAR = '((?:19|20)\\d\\d)';
const YEAR_PATTERNS = [
  new RegExp(`^(.+?)\\s*[([]${YEAR}[)\\]]$`), // Album (2007), Album [2007]
  new RegExp(`^[([]${YEAR}[)\\]]\\s*[-.]?\\s*(.+)$`), // (2007) Album, [2007] - Album
  new RegExp(`^${YEAR}\\s*[-.]\\s*(.+)$`), // 2007 - Album, 2007. Album
  new RegExp(`^(.+?)\\s+-\\s+${YEAR}$`), // Album - 2007
];

/** Splits a year out of an album folder's name: `Crimson Island (2007)` → ["Crimson Island", 2007]. */
export function yearFromFolder(name: string): { name: string; year: number | null } {
  for (const [i, re] of YEAR_PATTERNS.entries()) {
    const m = re.exec(name);
    if (!m) continue;
    const [rest, year] = i === 0 || i === 3 ? [m[1], m[2]] : [m[2], m[1]];
    if (rest.trim().length > 0) return { name: rest.trim(), year: Number(year) };
  }
  return { name, year: null };
}

/** `track2`, `Track 10`, `part_3`: a word and a number are the whole name; the number is the track's. */
const WORD_NUMBER = /^(?:track|trk|tr|song|part|pt|chapter|ch|side|title|titre|pista|piste)\s*[-.#]?\s*(\d{1,3})$/i;

/**
 * What the path says when tags are missing: `Artist/Album/NN - Title.ext`,
 * `Artist/Album/CD1/NN - Title.ext`, `Artist - Title.ext`, `NN. Artist - Title.ext`,
 * `albums/Album_Name/track3.ext`. Underscores are spaces, a year in the album folder's name is the
 * year, generic folders (`Music`, `albums`, `CD1`…) are nobody's name. `rel` uses `/` separators.
 */
export function hintsFromPath(rel: string): PathHints {
  const parts = rel.split('/');
  const file = parts.pop() ?? rel;
  let stem = tidyName(basename(file, extname(file)));
  let discNumber: number | null = null;
  const disc = parts.length > 0 ? DISC_FOLDER.exec(parts[parts.length - 1].trim()) : null;
  if (disc) {
    discNumber = Number(disc[1]);
    parts.pop();
  }
  let trackNumber: number | null = null;
  const numbered = /^(?:(\d{1,2})[-.])?(\d{1,3})(?:\s*[-.)]\s*|\s+)(.+)$/.exec(stem);
  const worded = WORD_NUMBER.exec(stem);
  if (numbered) {
    if (numbered[1] && discNumber === null) discNumber = Number(numbered[1]);
    trackNumber = Number(numbered[2]);
    stem = numbered[3].trim();
  } else if (worded) {
    trackNumber = Number(worded[1]);
  } else if (/^\d{1,3}$/.test(stem)) {
    trackNumber = Number(stem);
  }
  const folder = (i: number): string | null => {
    const name = i >= 0 && i < parts.length ? parts[i] : null;
    return name === null || isGeneric(name) ? null : tidyName(name);
  };
  let artist = folder(parts.length - 2);
  let album = folder(parts.length - 1);
  let year: number | null = null;
  if (album) ({ name: album, year } = yearFromFolder(album));
  let title = stem;
  const dash = stem.indexOf(' - ');
  if (dash > 0 && (artist === null || parts.length < 2)) {
    artist = stem.slice(0, dash).trim();
    title = stem.slice(dash + 3).trim();
  }
  return {
    artist: clean(artist),
    album: clean(album),
    title: clean(title) ?? clean(stem) ?? file,
    trackNumber,
    discNumber,
    year,
  };
}

const num = (n: number | null | undefined): number | null =>
  typeof n === 'number' && Number.isFinite(n) && n >= 0 && n < 1e6 ? Math.trunc(n) : null;
const real = (n: number | null | undefined): number | null => (typeof n === 'number' && Number.isFinite(n) ? n : null);

/**
 * A native tag music-metadata does not map to `common` (e.g. ffmpeg writes `TXXX:compilation` and
 * `TXXX:comment` instead of TCMP/COMM).
 */
function nativeValue(meta: IAudioMetadata, id: RegExp): string | null {
  for (const tags of Object.values(meta.native ?? {})) {
    for (const tag of tags) {
      if (id.test(tag.id) && (typeof tag.value === 'string' || typeof tag.value === 'number')) return String(tag.value);
    }
  }
  return null;
}

/** Normalises parsed metadata (or none, for unreadable tags) with the path fallback. */
export function normalizeTags(
  meta: IAudioMetadata,
  rel: string,
  separators: string[],
  sidecarLyrics: string | null,
): TrackTags {
  const c = meta.common;
  const f = meta.format;
  // The path is read only for what the tags lack (most files lack nothing).
  let pathHints: PathHints | undefined;
  const hints = () => {
    pathHints ??= hintsFromPath(rel);
    return pathHints;
  };
  let artists = c.artists && c.artists.length > 1 ? splitAll(c.artists, separators) : splitAll([c.artist], separators);
  if (artists.length === 0) artists = hints().artist ? [hints().artist as string] : [UNKNOWN_ARTIST];
  const tagAlbumArtist = clean(c.albumartist);
  const compilationTag = nativeValue(meta, /^(?:TXXX:)?(?:compilation|itunescompilation|TCMP)$/i);
  const compilation =
    c.compilation === true ||
    compilationTag === '1' ||
    compilationTag?.toLowerCase() === 'true' ||
    (tagAlbumArtist !== null && /^various( artists)?$/i.test(tagAlbumArtist));
  const albumArtist = tagAlbumArtist ?? (compilation ? VARIOUS_ARTISTS : artists[0]);
  const albumArtistTagged = tagAlbumArtist !== null || compilation;
  const date = clean(c.date) ?? (c.year ? String(c.year) : null);
  const yearFromDate = date ? Number(/^(\d{4})/.exec(date)?.[1]) : Number.NaN;
  const year = num(c.year) ?? (Number.isFinite(yearFromDate) ? yearFromDate : null) ?? hints().year;
  const embeddedLyrics = (c.lyrics ?? [])
    .map((l) => clean(l.text, LYRICS_MAX) ?? clean(l.syncText?.map((s) => s.text).join('\n'), LYRICS_MAX))
    .find((t) => t !== null);
  const comment =
    (c.comment ?? []).map((x) => clean(x.text, 4096)).find((t) => t !== null) ??
    clean(nativeValue(meta, /^TXXX:(?:comment|COMM)$/i), 4096);
  const ext = extname(rel).slice(1).toLowerCase();
  return {
    title: clean(c.title) ?? hints().title,
    artists,
    albumArtist,
    albumArtistTagged,
    album: clean(c.album) ?? hints().album ?? UNKNOWN_ALBUM,
    trackNumber: num(c.track?.no) ?? hints().trackNumber,
    trackTotal: num(c.track?.of),
    discNumber: num(c.disk?.no) ?? hints().discNumber,
    discTotal: num(c.disk?.of),
    year,
    date,
    genres: splitAll(c.genre, separators),
    compilation,
    duration: real(f.duration),
    format: ext,
    codec: clean(f.codec),
    bitrate: f.bitrate ? Math.round(f.bitrate / 1000) : null,
    sampleRate: num(f.sampleRate),
    channels: num(f.numberOfChannels),
    rgTrackGain: real(c.replaygain_track_gain?.dB),
    rgTrackPeak: real(c.replaygain_track_peak?.ratio),
    rgAlbumGain: real(c.replaygain_album_gain?.dB),
    rgAlbumPeak: real(c.replaygain_album_peak?.ratio),
    mbzTrackId: clean(c.musicbrainz_trackid),
    mbzRecordingId: clean(c.musicbrainz_recordingid),
    mbzAlbumId: clean(c.musicbrainz_albumid),
    mbzArtistId: clean(c.musicbrainz_artistid?.[0]),
    mbzAlbumArtistId: clean(c.musicbrainz_albumartistid?.[0]),
    lyrics:
      sidecarLyrics ??
      embeddedLyrics ??
      clean(nativeValue(meta, /^(?:TXXX:)?(?:lyrics|unsyncedlyrics|USLT)$/i), LYRICS_MAX),
    comment,
  };
}

/**
 * Album grouping key (README.md, "One album per album"). With a tagged album artist (or the
 * compilation flag): folded album artist + album (+ MusicBrainz album id), so an album spread over
 * folders is one. Without: the album's folder (a `CD1`-style disc folder counts as its parent) +
 * album, marked by a leading \u0002 so the group phase can find these albums, fold one into the
 * tagged album of the same name in its folder and name its album artist.
 */
export function albumGroupKey(
  tags: Pick<TrackTags, 'albumArtist' | 'albumArtistTagged' | 'album' | 'mbzAlbumId'>,
  rel: string,
  fold: (name: string) => string = foldKey,
): string {
  const mbz = tags.mbzAlbumId ? `\u001f${tags.mbzAlbumId.toLowerCase()}` : '';
  if (tags.albumArtistTagged) return `${fold(tags.albumArtist)}\u001f${fold(tags.album)}${mbz}`;
  return `${FOLDER_KEY}${albumFolder(rel)}\u001f${fold(tags.album)}${mbz}`;
}

/** First character of the group key of an album grouped by folder. */
export const FOLDER_KEY = '\u0002';

/** The folder an album lives in: the file's folder, or its parent for a disc folder (`CD1`). */
export function albumFolder(rel: string): string {
  const parts = rel.split('/');
  parts.pop();
  if (parts.length > 0 && DISC_FOLDER.test(parts[parts.length - 1].trim())) parts.pop();
  return parts.join('/');
}
