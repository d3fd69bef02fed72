/**
 * Scan phase `diff`: compares the walk with the DB by (relative path, size, mtime) into files to
 * read (new or changed), known tracks and missing ones. Unchanged files already recorded as
 * unreadable wait until they change; files modified less than `settleMs` ago are deferred (still
 * being copied). A folder-scoped scan only compares the tracks inside its folders.
 */
import type { KnownTrack } from '../library.repository.js';
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
  await ctx.repo.loadCaches();
  const reapply = full ? new Set<string>() : await changedFolderImages(ctx, ctx.walked);
  const known = new Map<string, KnownTrack>();
  for (const t of await ctx.repo.localTracks()) if (inScope(ctx.folders, t.local_path)) known.set(t.local_path, t);
  const errors = await ctx.repo.scanErrors();
  const missing = new Map(known);
  const toRead: WalkedFile[] = [];
  const settle = ctx.options.settleMs ?? DEFAULT_SETTLE_MS;
  const now = ctx.options.clock.now();
  for (const f of ctx.walked.files) {
    missing.delete(f.rel);
    const row = known.get(f.rel);
    const same = row ? row.size === f.size && row.mtime === f.mtime : false;
    if (same && !full && (reapply.size === 0 || !reapply.has(dirOf(f.rel)))) continue;
    const err = errors.get(f.rel);
    if (!row && err && err.size === f.size && err.mtime === f.mtime && !full) continue;
    if (now - f.mtime < settle && !same) {
      p.deferred += 1; // still being written: read it once it has settled
      continue;
    }
    toRead.push(f);
  }
  ctx.diff = { toRead, missing, known };
  p.filesTotal = toRead.length;
}
