/**
 * Scan phase `artwork` (runs inside the read phase, per batch): embedded pictures (hashed in the
 * worker) and folder images, stored content-addressed once per scan however many batches show
 * them; and, for the diff, which folders' images changed since the last whole-library scan.
 */
import type { StoredArtwork } from '../artwork-store.js';
import type { ReadResult } from '../tag-worker.js';
import type { ScanContext } from './context.js';
import { dirOf, type WalkedFile, type WalkResult } from './walk.js';

/** File-system timestamps can be this much coarser than the clock (FAT: 2 s). */
const FS_TIME_SLACK_MS = 2000;

export interface BatchArtwork {
  /** Artwork rows to insert with the batch. */
  rows: Map<string, StoredArtwork>;
  /** Folder → its image's artwork id (null: no usable image). */
  folderIds: Map<string, string | null>;
}

/** Artwork being stored during one scan, so that each image is read, hashed and written once. */
export class ArtworkInFlight {
  readonly embedded = new Map<string, Promise<StoredArtwork | null>>();
  readonly folders = new Map<string, Promise<{ id: string | null; row: StoredArtwork | null }>>();
}

/**
 * Starts storing the new artwork of a batch: embedded pictures (by hash) and folder images (by
 * folder). Resolves when all are on disk. The picture bytes are dropped from the results once handed over.
 */
export async function storeBatchArtwork(
  ctx: ScanContext,
  batch: { file: WalkedFile; result: ReadResult }[],
  art: ArtworkInFlight,
): Promise<BatchArtwork> {
  const folderArt = ctx.walked.folderArt;
  const known = (id: string) => ctx.repo.hasArtwork(id);
  const embedded = new Map<string, Promise<StoredArtwork | null>>();
  const folders = new Map<string, Promise<{ id: string | null; row: StoredArtwork | null }>>();
  for (const { file, result } of batch) {
    if (!result.ok) continue;
    const pic = result.picture;
    if (pic && !known(pic.hash) && !embedded.has(pic.hash)) {
      let stored = art.embedded.get(pic.hash);
      if (!stored && pic.data) {
        stored = ctx.artwork.store(pic.hash, pic.data, 'embedded');
        art.embedded.set(pic.hash, stored);
      }
      if (stored) embedded.set(pic.hash, stored);
    }
    if (pic) pic.data = undefined; // stored (or being stored): the bytes are not needed any more
    const dir = dirOf(file.rel);
    const image = folderArt.get(dir);
    if (image && !folders.has(dir)) {
      let stored = art.folders.get(dir);
      if (!stored) {
        stored = ctx.artwork.storeFolderImage(image, known);
        art.folders.set(dir, stored);
      }
      folders.set(dir, stored);
    }
  }
  const rows = new Map<string, StoredArtwork>();
  const folderIds = new Map<string, string | null>();
  await Promise.all([
    ...[...embedded.values()].map(async (stored) => {
      const row = await stored;
      if (row) rows.set(row.id, row);
    }),
    ...[...folders.entries()].map(async ([dir, stored]) => {
      const { id, row } = await stored;
      if (row) rows.set(row.id, row);
      folderIds.set(dir, id);
    }),
  ]);
  return { rows, folderIds };
}

/**
 * Folders whose folder image was added, replaced or removed since the last whole-library scan:
 * their unchanged tracks are read again so that tracks and albums pick up the new image (or drop
 * the old one). A folder counts as changed when its entries or its image changed after that scan
 * started (with slack for coarse timestamps). A changed folder without an image only matters when
 * its tracks still show a folder image.
 */
export async function changedFolderImages(ctx: ScanContext, walked: WalkResult): Promise<Set<string>> {
  const reapply = new Set<string>();
  // Never scanned whole: every track is new anyway, unless this is a folder-scoped scan (the
  // watcher's) after other scoped scans: then any folder of the scope may have a new image, and
  // dirShowsArtwork below keeps tracks that already show it from being read again.
  const since = (await ctx.runs.lastLibraryScanStart(ctx.progress.runId)) ?? (ctx.folders ? 0 : null);
  if (since === null) return reapply;
  let withFolderArt: Set<string> | null = null;
  for (const [dir, changedAt] of walked.dirChanged) {
    if (changedAt < since - FS_TIME_SLACK_MS) continue;
    const image = walked.folderArt.get(dir);
    const id = image ? ctx.artwork.folderImageId(image) : null;
    if (id) {
      // Tracks already showing this image are up to date (all of them are written together).
      if (!(await ctx.repo.dirShowsArtwork(dir, id))) reapply.add(dir);
    } else {
      withFolderArt ??= await ctx.repo.dirsShowingFolderArt();
      if (withFolderArt.has(dir)) reapply.add(dir);
    }
  }
  if (reapply.size > 0) ctx.log.debug({ folders: reapply.size }, 'folder images changed');
  return reapply;
}
