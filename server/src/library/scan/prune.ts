/**
 * Scan phase `prune`: tracks the walk no longer found are deleted (FKs null
 * `playlist_tracks.track_id` and `plays.track_id`, so playlists show the entry as unavailable from
 * its snapshot) and `library.tracksRemoved` tells the other areas (likes and activity go). Errors
 * of files that are gone are dropped. An entirely empty music folder under a non-empty library is
 * almost always an unmounted share, not a deletion: nothing is pruned then.
 */
import { readdirSync } from 'node:fs';
import { type ScanContext, yieldNow } from './context.js';

/** Deletions per transaction. */
const BATCH = 100;

export async function prunePhase(ctx: ScanContext): Promise<void> {
  const { diff, progress: p } = ctx;
  // Errors of files that are gone go too (the diff listed them: the read phase adds errors only
  // for walked files, and lets the walk's list go as it reads).
  if (diff.goneErrors.length > 0) {
    const gone = new Set(diff.goneErrors);
    await ctx.repo.deleteErrorsNotIn((rel) => !gone.has(rel));
  }
  const gone = [...diff.missing.values()].map((t) => t.id);
  if (gone.length > 0 && ctx.folders === null && p.filesFound === 0 && readdirSync(ctx.options.musicDir).length === 0) {
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
