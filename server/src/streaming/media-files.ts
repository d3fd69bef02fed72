/**
 * Where a track's bytes live and what they are. Track ids are database keys (stream.test.ts); the
 * stored relative path is resolved against its root (music dir for local files, cache dir for
 * cached remote tracks), symlinks are resolved, and the result must still be inside that root.
 */
import { realpathSync } from 'node:fs';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { NotFound } from '../shared/errors.js';

const AUDIO_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  mpga: 'audio/mpeg',
  flac: 'audio/flac',
  m4a: 'audio/mp4',
  m4b: 'audio/mp4',
  mp4: 'audio/mp4',
  aac: 'audio/aac',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg; codecs=opus',
  wav: 'audio/wav',
  wave: 'audio/wav',
  webm: 'audio/webm',
  weba: 'audio/webm',
  mka: 'audio/x-matroska',
  aif: 'audio/aiff',
  aiff: 'audio/aiff',
  wma: 'audio/x-ms-wma',
  ape: 'audio/x-ape',
  wv: 'audio/x-wavpack',
  dsf: 'audio/x-dsf',
};

/** Content-Type for a stored format name or file extension; unknown types are opaque bytes. */
export function audioContentType(formatOrPath: string | null | undefined): string {
  if (!formatOrPath) return 'application/octet-stream';
  const key = (formatOrPath.includes('.') ? extname(formatOrPath).slice(1) : formatOrPath).toLowerCase();
  return AUDIO_TYPES[key] ?? 'application/octet-stream';
}

/** True when `child` (already absolute and normalised) is `root` itself or below it. */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.startsWith(`..${sep}`));
}

/** Roots are resolved once (one fewer filesystem call per stream); a root that moves is re-read. */
const realRoots = new Map<string, string>();
function realRootOf(root: string): string {
  const known = realRoots.get(root);
  if (known !== undefined) return known;
  const real = realpathSync.native(root);
  realRoots.set(root, real);
  return real;
}

/**
 * Absolute real path of `relPath` under `root`, or NotFound when it is missing or escapes the root
 * (absolute paths, `..`, NUL bytes, symlinks pointing outside).
 */
export async function resolveInside(root: string, relPath: string | null | undefined): Promise<string> {
  if (!relPath || relPath.includes('\0') || isAbsolute(relPath)) throw new NotFound('file');
  let realRoot: string;
  let real: string;
  try {
    realRoot = realRootOf(root);
    const candidate = resolve(realRoot, relPath);
    if (!isInside(realRoot, candidate)) throw new NotFound('file');
    // Synchronous on purpose: a realpath(3) of a cached path takes microseconds, while the async
    // form waits in libuv's 4-thread pool behind every stream's file reads (the TTFB tail under load).
    real = realpathSync.native(candidate);
  } catch (err) {
    if (err instanceof NotFound) throw err;
    throw new NotFound('file');
  }
  if (!isInside(realRoot, real)) {
    realRoots.delete(root);
    throw new NotFound('file');
  }
  return real;
}
