/**
 * The state one scan run shares between its phases (walk → diff → read → prune → group → gc).
 * Each phase reads what the earlier ones left here and adds its own result; nothing else is
 * shared between phases.
 */
import type { AnyDatabase } from '../../db/engine.js';
import type { EventBus } from '../../shared/events.js';
import type { Logger } from '../../shared/logger.js';
import type { Clock } from '../../shared/time.js';
import type { ArtworkStore } from '../artwork-store.js';
import type { FileStamp, TrackStamp } from '../library.repository.js';
import type { GroupStore, LibraryStore, ScanRunsStore } from '../scan-store.js';
import type { ScanProgress } from './progress.js';
import type { WalkedFile, WalkResult } from './walk.js';

export interface ScannerOptions {
  database: AnyDatabase;
  musicDir: string;
  artworkDir: string;
  cacheDir: string;
  separators: string[];
  workers: number;
  logger: Logger;
  clock: Clock;
  events: EventBus;
  /** Files modified less than this long ago are left for a later scan (still being copied in). */
  settleMs?: number;
  /** Per-file time budget in the worker. */
  fileTimeoutMs?: number;
}

export interface DiffResult {
  /** New and changed files, in walk order. */
  toRead: WalkedFile[];
  /** Known local tracks' stamps (within the scanned folders) by relative path. */
  known: Map<string, FileStamp>;
  /** The ids of the known tracks among `toRead` (changed files), by relative path. */
  ids: Map<string, string>;
  /** Known tracks the walk did not find (moved or deleted); moves are taken out as the read finds them. */
  missing: Map<string, TrackStamp>;
  /**
   * `scan_errors` paths (within the scanned folders) the walk did not find: the prune phase drops
   * them. Known here because the read phase lets the walk's file list go (only walked files get
   * new errors).
   */
  goneErrors: string[];
}

export interface DiffStamps {
  /** Every local track's stamp by relative path. */
  known: Map<string, FileStamp>;
  /** `scan_errors` rows by relative path. */
  errors: Map<string, { size: number; mtime: number }>;
}

export interface ScanContext {
  readonly options: ScannerOptions;
  readonly repo: LibraryStore;
  readonly runs: ScanRunsStore;
  readonly group: GroupStore;
  readonly artwork: ArtworkStore;
  readonly log: Logger;
  readonly progress: ScanProgress;
  readonly signal: AbortSignal;
  /** Milliseconds per phase (and the read phase's `artwork` and `write` parts). */
  readonly phaseMs: Record<string, number>;
  /** Folders (relative, normalised, none inside another) of a folder-scoped scan; null: everything. */
  readonly folders: string[] | null;
  /** The previous run did not finish: group even when nothing changed. */
  readonly resumeNeeded: boolean;
  walked: WalkResult;
  /**
   * The stamps and error rows the diff compares with, when the walk phase read them while its
   * thread walked (a whole-library walk); otherwise the diff reads them.
   */
  stamps?: DiffStamps;
  diff: DiffResult;
  /** Publishes progress to listeners and `scan_runs` (throttled unless forced). */
  publish(force?: boolean): void;
}

/** Adds `ms` to a phase's time. */
export function addTime(ctx: ScanContext, phase: string, ms: number): void {
  ctx.phaseMs[phase] = Math.round((ctx.phaseMs[phase] ?? 0) + ms);
}

export const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether relative path `rel` lies in one of the scan's folders (always, for a whole-library scan). */
export function inScope(folders: string[] | null, rel: string): boolean {
  return folders === null || folders.some((f) => f === '' || rel.startsWith(`${f}/`));
}
