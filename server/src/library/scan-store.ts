/**
 * What the scanner needs from the database, whichever engine holds it. The SQLite classes
 * (library.repository.ts, scan-runs.repository.ts, group.repository.ts) answer synchronously with
 * prepared better-sqlite3 statements; the PostgreSQL ones (`*.pg.ts`) answer with promises. The
 * scanner awaits every call, so one code path drives both (an await on a plain value costs a
 * microtask, nothing next to a batch's SQL).
 */
import type { AnyDatabase } from '../db/engine.js';
import { GroupRepository } from './group.repository.js';
import { PgGroupRepository } from './group.repository.pg.js';
import { type FileStamp, type KnownTrack, LibraryRepository, type TrackWrite } from './library.repository.js';
import { PgLibraryRepository } from './library.repository.pg.js';
import { ScanRunsRepository } from './scan-runs.repository.js';
import { PgScanRunsRepository } from './scan-runs.repository.pg.js';
import type { ScanProgress, ScanRunView, ScanSummary } from './scan/progress.js';

export type Awaitable<T> = T | Promise<T>;

export interface ScanError {
  rel: string;
  reason: string;
  size: number;
  mtime: number;
}

export interface ArtworkRow {
  id: string;
  path: string;
  mime: string;
  size: number;
  source: 'embedded' | 'file';
}

/** The scanner's catalog writes and reads (tracks, groupings, artwork rows, unreadable files). */
export interface LibraryStore {
  /** Loads the grouping caches (name keys → ids) once per scan. */
  loadCaches(): Awaitable<void>;
  /** Whether an artwork row with this id exists (from the caches: synchronous on every engine). */
  hasArtwork(id: string): boolean;
  localTracks(): Awaitable<KnownTrack[]>;
  /** Every local track's size and mtime by relative path (what a rescan compares with). */
  localTrackStamps(): Awaitable<Map<string, FileStamp>>;
  /** The ids of the local tracks at these relative paths (null: of every local track), by path. */
  localTrackIds(paths: string[] | null): Awaitable<Map<string, string>>;
  /** The local tracks with these ids, with the columns that tell a move (hash, duration, tags). */
  knownTracks(ids: string[]): Awaitable<KnownTrack[]>;
  /** Caps the connection's page cache during a scan; the returned function restores it. */
  limitPageCache(kib: number): () => void;
  /** Checkpoints the write-ahead log less often during a scan; the returned function restores it. */
  spaceCheckpoints(pages: number): () => void;
  /** Drops the rescan's stamp index before a large write (built again by restoreStampIndex). */
  suspendStampIndex(): Awaitable<void>;
  /** Builds the stamp index when it is missing. */
  restoreStampIndex(): Awaitable<void>;
  scanErrors(): Awaitable<Map<string, { size: number; mtime: number }>>;
  unreadableCount(): Awaitable<number>;
  /** One batch of read files (new, changed, moved), their groupings, artwork and errors: one transaction. */
  writeBatch(
    batch: { insert: TrackWrite[]; update: TrackWrite[]; errors: ScanError[] },
    artwork: ArtworkRow[],
    readOk: string[],
    now: number,
  ): Awaitable<void>;
  deleteTracks(ids: string[]): Awaitable<void>;
  deleteErrorsNotIn(keep: (rel: string) => boolean): Awaitable<void>;
  dirsShowingFolderArt(): Awaitable<Set<string>>;
  dirShowsArtwork(dir: string, id: string): Awaitable<boolean>;
  deleteUnusedArtwork(): Awaitable<string[]>;
  scannerArtwork(): Awaitable<{ id: string; path: string; size: number }[]>;
  deleteArtwork(ids: string[]): Awaitable<void>;
  artworkPaths(): Awaitable<Set<string>>;
  clearCaches(): void;
}

/** `scan_runs`: one row per scan, its progress, summary and owner. */
export interface ScanRunsStore {
  running(): Awaitable<{ id: string; owner: string | null }[]>;
  markInterrupted(id: string, at: number): Awaitable<void>;
  runningElsewhere(owner: string): Awaitable<string | null>;
  latestState(): Awaitable<string | undefined>;
  lastLibraryScanStart(runId: string): Awaitable<number | null>;
  start(p: ScanProgress, owner: string): Awaitable<void>;
  saveProgress(p: ScanProgress): Awaitable<void>;
  finish(s: ScanSummary): Awaitable<void>;
  lastFinished(): Awaitable<ScanRunView | null>;
  /**
   * PostgreSQL (several machines share the database, so a pid says nothing): whether some
   * session holds the scan lock, i.e. a scan runs somewhere. Absent on SQLite, where the owner's
   * `host:pid` tells.
   */
  scanLockHeld?(): Promise<boolean>;
  /** PostgreSQL: takes the scan lock for this process's run (false: another process has it). */
  claim?(): Promise<boolean>;
  /** PostgreSQL: releases the scan lock taken by `claim`. */
  release?(): Promise<void>;
}

/** The group phase's SQL. */
export interface GroupStore {
  regroup(now: number, yieldNow: () => Promise<void>): Promise<void>;
}

export interface ScanStores {
  library: LibraryStore;
  runs: ScanRunsStore;
  group: GroupStore;
}

/** The scanner's repositories for the engine behind `database`. */
export function scanStores(database: AnyDatabase): ScanStores {
  if (database.engine === 'postgres') {
    return {
      library: new PgLibraryRepository(database.db),
      runs: new PgScanRunsRepository(database.db),
      group: new PgGroupRepository(database.db),
    };
  }
  return {
    library: new LibraryRepository(database.sqlite),
    runs: new ScanRunsRepository(database.sqlite),
    group: new GroupRepository(database.sqlite),
  };
}
