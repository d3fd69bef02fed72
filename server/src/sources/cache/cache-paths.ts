/**
 * Where cached remote tracks live: `<cacheDir>/<source>/<Artist>/<Album>/<Title> [<remote id>].<ext>`.
 * Components come from remote metadata, i.e. from strangers: they are sanitised (no separators,
 * no control characters, no leading dots, no `..`), Unicode-normalised and bounded in bytes, so the
 * path is always inside the cache dir and valid on every filesystem Earshot runs on (incl. FAT/exFAT
 * SD cards under Termux).
 */
import { type Dirent, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '../../shared/ids.js';
import { REMOTE_SOURCES, type RemoteSource } from '../providers/provider.js';

const MAX_COMPONENT_BYTES = 80;

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > maxBytes) break;
    out += ch;
  }
  return out;
}

/** One safe path component, or `fallback` when nothing usable is left. */
export function sanitizeComponent(
  input: string | null | undefined,
  fallback: string,
  maxBytes = MAX_COMPONENT_BYTES,
): string {
  let text = (input ?? '')
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '');
  text = truncateUtf8(text, maxBytes).trim();
  return text === '' || text === '.' || text === '..' ? fallback : text;
}

/** The bracketed id in a file name: the remote id when it is short and plain, else a hash of it (URLs). */
export function remoteIdTag(remoteId: string): string {
  return /^[A-Za-z0-9_-]{1,40}$/.test(remoteId) ? remoteId : sha256(remoteId).slice(0, 16);
}

export interface CacheLocation {
  /** Relative to the cache dir (what `tracks.local_path` stores). */
  relative: string;
  absolute: string;
  /** The in-progress name beside it (`… .ext.part`); deleted at start-up if a crash left it. */
  partAbsolute: string;
}

export function cacheLocation(
  cacheDir: string,
  track: { source: RemoteSource; remoteId: string; artist: string | null; album: string | null; title: string },
  ext: string,
): CacheLocation {
  const dir = join(
    track.source,
    sanitizeComponent(track.artist, 'Unknown Artist'),
    sanitizeComponent(track.album, 'Unknown Album'),
  );
  const name = `${sanitizeComponent(track.title, 'Untitled', 120)} [${remoteIdTag(track.remoteId)}].${ext}`;
  const relative = join(dir, name);
  const absolute = join(cacheDir, relative);
  return { relative, absolute, partAbsolute: `${absolute}.part` };
}

/** Every extension {@link sniffAudioExt} can name a download with (a part file's possible names). */
export const SNIFFED_EXTS = ['mp3', 'flac', 'opus', 'ogg', 'm4a', 'webm', 'wav', 'aac', 'bin'] as const;

/** Container of an audio stream from its first bytes (yt-dlp writes to stdout, so there is no name to go by). */
export function sniffAudioExt(head: Buffer): string {
  const ascii = (start: number, end: number) => head.subarray(start, end).toString('latin1');
  if (ascii(0, 3) === 'ID3' || (head[0] === 0xff && (head[1] & 0xe0) === 0xe0 && (head[1] & 0x06) !== 0)) return 'mp3';
  if (ascii(0, 4) === 'fLaC') return 'flac';
  if (ascii(0, 4) === 'OggS') return head.includes(Buffer.from('OpusHead')) ? 'opus' : 'ogg';
  if (ascii(4, 8) === 'ftyp') return 'm4a';
  if (head.readUInt32BE(0) === 0x1a45dfa3) return 'webm';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'wav';
  if (head[0] === 0xff && (head[1] & 0xf6) === 0xf0) return 'aac';
  return 'bin';
}

/**
 * Calls `visit` for every file under the cache folders of `sources` (synchronously: the cache tree
 * is one file per track). A folder that cannot be read (not created yet) is skipped.
 */
export function forEachCacheFile(
  cacheDir: string,
  visit: (path: string, entry: Dirent) => void,
  sources: readonly RemoteSource[] = REMOTE_SOURCES,
): void {
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else visit(full, e);
    }
  };
  for (const source of sources) walk(join(cacheDir, source));
}
