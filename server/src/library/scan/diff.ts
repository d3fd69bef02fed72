/**
 * Scan phase `diff`: compares the walk with the DB by (relative path, size, mtime) into files to
 * read (new or changed), known tracks and missing ones. Unchanged files already recorded as
 * unreadable wait until they change; files modified less than `settleMs` ago are deferred (still
 * being copied). A folder-scoped scan only compares the tracks inside its folders.
 */
import type { FileStamp, TrackStamp } from '../library.repository.js';
import { changedFolderImages } from './artwork.js';
import { inScope, type ScanContext } from './context.js';
import { dirOf, type WalkedFile } from './walk.js';

const DEFAULT_SETTLE_MS = 2000;

export async function diffPhase(ctx: ScanContext): Promise<void> {
  const p = ctx.progress;
  const full = p.kind === 'full';
  if (full) {
    // Artwork files are not fsynced (artwork-store.ts): one a power cut left short or missing
    // loses its row here, and this full scan stores it again.
    const bad = ctx.artwork.verify(await ctx.repo.scannerArtwork());
    if (bad.length > 0) {
      ctx.log.warn({ images: bad.length }, 'artwork files missing or damaged: storing them again');
      await ctx.repo.deleteArtwork(bad);
    }
  }
  const reapply = full ? new Set<string>() : await changedFolderImages(ctx, ctx.walked);
  let known = ctx.stamps?.known ?? (await ctx.repo.localTrackStamps());
  const libraryTracks = known.size;
  if (ctx.folders !== null) {
    const scoped = new Map<string, FileStamp>();
    for (const [path, t] of known) if (inScope(ctx.folders, path)) scoped.set(path, t);
    known = scoped;
  }
  const errors = ctx.stamps?.errors ?? (await ctx.repo.scanErrors());
  ctx.stamps = undefined;
  const toRead: WalkedFile[] = [];
  const settle = ctx.options.settleMs ?? DEFAULT_SETTLE_MS;
  const now = ctx.options.clock.now();
  let found = 0;
  const walkedErrors = new Set<string>();
  for (const f of ctx.walked.files) {
    const row = known.get(f.rel);
    if (row) found += 1;
    const err = errors.size === 0 ? undefined : errors.get(f.rel);
    if (err) walkedErrors.add(f.rel);
    const same = row ? row.size === f.size && row.mtime === f.mtime : false;
    if (same && !full && (reapply.size === 0 || !reapply.has(dirOf(f.rel)))) continue;
    if (!row && err && err.size === f.size && err.mtime === f.mtime && !full) continue;
    if (now - f.mtime < settle && !same) {
      p.deferred += 1; // still being written: read it once it has settled
      continue;
    }
    toRead.push(f);
  }
  // Walked paths are distinct, so when every known track was found nothing is missing (the
  // usual rescan): no set of the walked paths is built.
  const gone: string[] = [];
  if (found < known.size) {
    const walked = new Set(ctx.walked.files.map((f) => f.rel));
    for (const path of known.keys()) if (!walked.has(path)) gone.push(path);
  }
  // The ids of the tracks this scan updates or removes (none in a no-change rescan): the stamps
  // are read without them (50,000 id strings were ~a quarter of the stamp read). Many of them
  // (a full scan): every id in one read rather than by path.
  const need = gone.slice();
  for (const f of toRead) if (known.has(f.rel)) need.push(f.rel);
  const ids =
    need.length === 0
      ? new Map<string, string>()
      : await ctx.repo.localTrackIds(need.length * 8 > libraryTracks ? null : need);
  const missing = new Map<string, TrackStamp>();
  for (const path of gone) {
    const t = known.get(path);
    const id = ids.get(path);
    if (t && id !== undefined) missing.set(path, { id, size: t.size, mtime: t.mtime });
  }
  const goneErrors: string[] = [];
  for (const rel of errors.keys()) if (!walkedErrors.has(rel) && inScope(ctx.folders, rel)) goneErrors.push(rel);
  ctx.diff = { toRead, missing, known, ids, goneErrors };
  p.filesTotal = toRead.length;
}
