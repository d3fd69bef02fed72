/**
 * Maps yt-dlp's JSON (`-J` for one item, `--flat-playlist -J` for searches) into Earshot's remote
 * track metadata. yt-dlp fills music fields (`track`, `artist`, `album`) for YouTube Music and
 * some SoundCloud items; otherwise the uploader/channel is the best artist we have.
 */
import type { RemoteMetadata, RemoteSource } from '../providers/provider.js';

type Json = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);

/** YouTube's auto-generated artist channels are named "Artist - Topic". */
function cleanArtist(name: string | null): string | null {
  return name ? name.replace(/\s+-\s+Topic$/i, '').trim() || null : null;
}

function bestThumbnail(info: Json): string | null {
  const list = Array.isArray(info.thumbnails) ? (info.thumbnails as Json[]) : [];
  const urls = list
    .filter((t) => typeof t?.url === 'string' && /^https?:\/\//.test(t.url as string))
    .sort((a, b) => (num(a.width) ?? num(a.preference) ?? 0) - (num(b.width) ?? num(b.preference) ?? 0));
  const single = str(info.thumbnail);
  if (single && /^https?:\/\//.test(single)) return single;
  return (urls.at(-1)?.url as string | undefined) ?? null;
}

/** Which Earshot source an extractor belongs to (a pasted YouTube URL becomes a YouTube track). */
export function sourceForExtractor(extractorKey: string | null): RemoteSource {
  const key = (extractorKey ?? '').toLowerCase();
  if (key === 'youtube' || key === 'youtubemusic') return 'youtube';
  if (key === 'soundcloud') return 'soundcloud';
  return 'url';
}

/**
 * One yt-dlp info dict → metadata. `requestedUrl` is the URL the user gave (for `url` sources the
 * remote id is the canonical page URL, since generic ids such as a file's basename are not unique).
 */
export function mapYtDlpInfo(raw: unknown, requestedUrl?: string): RemoteMetadata {
  if (!raw || typeof raw !== 'object') throw new Error('yt-dlp returned no metadata');
  const info = raw as Json;
  const extractor = str(info.extractor_key) ?? str(info.ie_key) ?? str(info.extractor);
  const source = sourceForExtractor(extractor);
  const id = str(info.id) ?? (typeof info.id === 'number' ? String(info.id) : null);
  const webpageUrl = str(info.webpage_url) ?? str(info.original_url) ?? requestedUrl ?? null;
  const remoteId = source === 'url' ? (requestedUrl ?? webpageUrl) : id;
  if (!remoteId) throw new Error('yt-dlp metadata has no id');
  const title = str(info.track) ?? str(info.title) ?? str(info.fulltitle) ?? remoteId;
  const artist =
    cleanArtist(str(info.artist)) ??
    cleanArtist(str(info.creator)) ??
    cleanArtist(str(info.uploader)) ??
    cleanArtist(str(info.channel));
  return {
    source,
    remoteId,
    title,
    artist,
    album: str(info.album),
    duration: num(info.duration),
    thumbnailUrl: bestThumbnail(info),
    webpageUrl,
    extractor,
  };
}

/** A flat search result (`ytsearch`/`scsearch` with `--flat-playlist`) → metadata list. */
export function mapYtDlpSearch(raw: unknown, source: RemoteSource): RemoteMetadata[] {
  if (!raw || typeof raw !== 'object') return [];
  const entries = (raw as Json).entries;
  if (!Array.isArray(entries)) return [];
  const out: RemoteMetadata[] = [];
  for (const entry of entries) {
    if (!entry || typeof entry !== 'object') continue;
    const e = entry as Json;
    const id = str(e.id) ?? (typeof e.id === 'number' ? String(e.id) : null);
    if (!id) continue;
    const mapped = mapYtDlpInfo({ ...e, id, extractor_key: e.ie_key ?? e.extractor_key ?? source }, undefined);
    out.push({ ...mapped, source, remoteId: id });
  }
  return out;
}
