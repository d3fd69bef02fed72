/**
 * Scan phase `prune`: tracks the walk no longer found are deleted (FKs null
 * `playlist_tracks.track_id` and `plays.track_id`, so playlists show the entry as unavailable from
 * its snapshot) and `library.tracksRemoved` tells the other areas (likes and activity go). Errors
 * of files that are gone are dropped. An entirely empty music folder under a non-empty library is
 * almost always an unmounted share, not a deletion: nothing is pruned then.
 */
import { readdirSync } from 'node:fs';
import { inScope, type ScanContext, yieldNow } from './context.js';

/** Deletions per transaction. */
const BATCH = 100;

export async function prunePhase(ctx: ScanContext): Promise<void> {
  const { walked, diff, progress: p } = ctx;
  // Errors of files that are gone go too. The few error paths are looked up among the walked
  // files (no set of 50,000 paths for a check that is usually about a handful).
  const errors = await ctx.repo.scanErrors();
  if (errors.size > 0) {
    const present = new Set<string>();
    for (const f of walked.files) if (errors.has(f.rel)) present.add(f.rel);
    await ctx.repo.deleteErrorsNotIn((rel) => present.has(rel) || !inScope(ctx.folders, rel));
  }
  const gone = [...diff.missing.values()].map((t) => t.id);
  if (
    gone.length > 0 &&
    ctx.folders === null &&
    walked.files.length === 0 &&
    readdirSync(ctx.options.musicDir).length === 0
  ) {
    ctx.log.warn({ tracks: gone.length }, 'music folder is empty: not removing any tracks (is the drive mounted?)');
    return;
  }
  for (let i = 0; i < gone.length; i += BATCH) {
    await ctx.repo.deleteTracks(gone.slice(i, i + BATCH));
    await yieldNow();
  }
  p.removed = gone.length;
  if (gone.length > 0) ctx.options.events.emit('library.tracksRemoved', { trackIds: gone });
}
