/**
 * Scan phase `gc` (after group): deletes the artwork no track, album or artist uses any more,
 * rows and files. Only the scanner's own kinds (embedded pictures, folder images): remote
 * thumbnails are the sources area's. A full scan also sweeps content-addressed files left without
 * a row (a crash between writing the file and committing its row) that are older than an hour.
 */
import type { ScanContext } from './context.js';

export async function gcPhase(ctx: ScanContext): Promise<void> {
  const unused = await ctx.repo.deleteUnusedArtwork();
  await ctx.artwork.remove(unused);
  if (ctx.progress.kind === 'full') {
    const removed = await ctx.artwork.sweepOrphans(await ctx.repo.artworkPaths());
    if (removed > 0) ctx.log.info({ files: removed }, 'removed artwork files without a row');
  }
  if (unused.length > 0) ctx.log.info({ images: unused.length }, 'removed unused artwork');
}
