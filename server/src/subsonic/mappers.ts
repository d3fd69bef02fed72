/**
 * Catalog rows → Subsonic response nodes (Child, AlbumID3, ArtistID3, Artist), with the
 * OpenSubsonic fields this server supports always present (empty when unknown, per the spec).
 * Cover art ids are prefixed by kind (`al-`, `ar-`, `tr-`) so getCoverArt knows what to render.
 */
import type { AlbumRow, Annotation, ArtistRow, SongRow } from '../catalog/browse.repository.js';
import { audioContentType } from '../streaming/media-files.js';
import type { Node } from './envelope.js';

// toISOString always ends in `.sssZ`: cut the milliseconds without a regex (every song and album).
export const iso = (ms: number | null | undefined): string | undefined =>
  ms === null || ms === undefined ? undefined : `${new Date(ms).toISOString().slice(0, -5)}Z`;

const PROVIDER_NAMES: Record<string, string> = { youtube: 'YouTube', soundcloud: 'SoundCloud', url: 'Web' };

export const coverArtOfSong = (s: Pick<SongRow, 'id' | 'album_id' | 'artwork_id'>) =>
  s.artwork_id || !s.album_id ? `tr-${s.id}` : `al-${s.album_id}`;

function suffixOf(s: SongRow): string | undefined {
  if (s.format) return s.format.toLowerCase();
  const m = s.local_path?.match(/\.([A-Za-z0-9]{1,5})$/);
  return m ? m[1].toLowerCase() : undefined;
}

/** What a client shows as the file path: the library-relative path, or a readable remote label. */
export function displayPath(s: SongRow): string {
  if (s.source_type === 'local' && s.local_path) return s.local_path;
  const provider = PROVIDER_NAMES[s.source_type] ?? s.source_type;
  const name = `${s.artist ? `${s.artist} - ` : ''}${s.title}`.replace(/[/\\]/g, '_');
  return `${provider}/${name}.${suffixOf(s) ?? 'audio'}`;
}

function replayGain(s: SongRow): Node {
  return {
    trackGain: s.rg_track_gain ?? undefined,
    albumGain: s.rg_album_gain ?? undefined,
    trackPeak: s.rg_track_peak ?? undefined,
    albumPeak: s.rg_album_peak ?? undefined,
  };
}

/** A Child node: the row, the caller's annotations, its credited artists and genre names. */
export function songNode(
  s: SongRow,
  annotations: Map<string, Annotation>,
  credits: readonly { id: string; name: string; role: string }[],
  genreNames: readonly string[] | undefined,
): Node {
  const a = annotations.get(s.id);
  const artists: { id: string; name: string }[] = [];
  const albumArtists: { id: string; name: string }[] = [];
  for (const c of credits) {
    if (c.role === 'artist') artists.push({ id: c.id, name: c.name });
    else if (c.role === 'albumartist') albumArtists.push({ id: c.id, name: c.name });
  }
  const genres = genreNames ?? (s.genre ? [s.genre] : []);
  const suffix = suffixOf(s);
  return {
    id: s.id,
    parent: s.album_id ?? undefined,
    isDir: false,
    title: s.title,
    album: s.album ?? undefined,
    artist: s.artist ?? undefined,
    track: s.track_number ?? undefined,
    year: s.year ?? undefined,
    genre: s.genre ?? undefined,
    coverArt: coverArtOfSong(s),
    size: s.size ?? undefined,
    contentType: suffix ? audioContentType(suffix) : undefined,
    suffix,
    duration: s.duration === null ? undefined : Math.round(s.duration),
    bitRate: s.bitrate ?? undefined,
    path: displayPath(s),
    isVideo: false,
    userRating: a?.rating ?? undefined,
    playCount: a?.playCount ?? 0,
    discNumber: s.disc_number ?? 1,
    created: iso(s.added_at),
    starred: iso(a?.starredAt),
    albumId: s.album_id ?? undefined,
    artistId: s.artist_id ?? undefined,
    type: 'music',
    // OpenSubsonic
    played: iso(a?.lastPlayed),
    bpm: 0,
    comment: s.comment ?? '',
    sortName: '',
    mediaType: 'song',
    musicBrainzId: s.mbz_recording_id ?? '',
    channelCount: s.channels ?? 0,
    samplingRate: s.sample_rate ?? 0,
    displayArtist: s.artist ?? '',
    displayAlbumArtist: s.album_artist ?? '',
    explicitStatus: '',
    isrc: [],
    genres: genres.map((name) => ({ name })),
    replayGain: replayGain(s),
    artists: artists.length ? artists : s.artist_id && s.artist ? [{ id: s.artist_id, name: s.artist }] : [],
    albumArtists,
  };
}

export function albumNode(al: AlbumRow, a: Annotation | undefined, playCount = 0): Node {
  return {
    id: al.id,
    name: al.name,
    artist: al.album_artist || undefined,
    artistId: al.artist_id ?? undefined,
    coverArt: `al-${al.id}`,
    songCount: al.track_count,
    duration: Math.round(al.duration),
    playCount,
    created: iso(al.added_at),
    starred: iso(a?.starredAt),
    year: al.year ?? undefined,
    genre: al.genre ?? undefined,
    // OpenSubsonic
    played: iso(a?.lastPlayed),
    userRating: a?.rating ?? 0,
    musicBrainzId: al.mbz_album_id ?? '',
    isCompilation: al.compilation === 1,
    sortName: al.sort_name ?? '',
    displayArtist: al.album_artist ?? '',
    genres: al.genre ? [{ name: al.genre }] : [],
    artists: al.artist_id && al.album_artist ? [{ id: al.artist_id, name: al.album_artist }] : [],
    releaseTypes: [],
    recordLabels: [],
  };
}

/** The folder-mode view of an album (getAlbumList, getMusicDirectory of an artist). */
export function albumDirNode(al: AlbumRow, a: Annotation | undefined): Node {
  return {
    id: al.id,
    parent: al.artist_id ?? undefined,
    isDir: true,
    title: al.name,
    album: al.name,
    artist: al.album_artist || undefined,
    year: al.year ?? undefined,
    genre: al.genre ?? undefined,
    coverArt: `al-${al.id}`,
    duration: Math.round(al.duration),
    userRating: a?.rating ?? undefined,
    created: iso(al.added_at),
    starred: iso(a?.starredAt),
    albumId: al.id,
    artistId: al.artist_id ?? undefined,
  };
}

export function artistId3Node(ar: ArtistRow, a: Annotation | undefined): Node {
  return {
    id: ar.id,
    name: ar.name,
    coverArt: `ar-${ar.id}`,
    albumCount: ar.album_count,
    starred: iso(a?.starredAt),
    // OpenSubsonic
    musicBrainzId: ar.mbz_artist_id ?? '',
    sortName: ar.sort_name ?? '',
  };
}

/** Folder-index artist (getIndexes, getStarred). */
export function artistNode(ar: ArtistRow, a: Annotation | undefined): Node {
  return { id: ar.id, name: ar.name, starred: iso(a?.starredAt), userRating: a?.rating ?? undefined };
}

export const IGNORED_ARTICLES = 'The El La Los Las Le Les';

/** Index letter of an artist: first letter after an ignored article, `#` for anything else. */
export function indexLetter(name: string, sortName: string | null): string {
  let n = (sortName ?? name).trim();
  for (const article of IGNORED_ARTICLES.split(' ')) {
    if (n.toLowerCase().startsWith(`${article.toLowerCase()} `)) {
      n = n.slice(article.length + 1).trim();
      break;
    }
  }
  const first = n
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .charAt(0)
    .toUpperCase();
  return /[A-Z]/.test(first) ? first : '#';
}
