/**
 * All SQL of `scan_runs`: one row per scan, written as it starts, updated with its progress and
 * closed with its summary. A run left 'running' by a process that is gone is 'interrupted'.
 * Synchronous (better-sqlite3): a handful of single-row statements per scan.
 */
import type SQLite from 'better-sqlite3';
import type { ScanProgress, ScanRunView, ScanSummary } from './scan/progress.js';

export interface RunRow {
  id: string;
  kind: 'full' | 'incremental';
  state: 'running' | 'done' | 'failed' | 'interrupted';
  trigger: string;
  folders: string | null;
  files_total: number;
  files_done: number;
  added: number;
  updated: number;
  moved: number;
  removed: number;
  unreadable: number;
  deferred: number;
  phase_ms: string;
  error: string | null;
  started_at: number;
  finished_at: number | null;
}

export class ScanRunsRepository {
  constructor(private readonly sqlite: SQLite.Database) {}

  /** Runs still marked 'running', with the `host:pid` that runs (or ran) them. */
  running(): { id: string; owner: string | null }[] {
    return this.sqlite.prepare("select id, owner from scan_runs where state = 'running'").all() as {
      id: string;
      owner: string | null;
    }[];
  }

  markInterrupted(id: string, at: number): void {
    this.sqlite.prepare("update scan_runs set state = 'interrupted', finished_at = ? where id = ?").run(at, id);
  }

  /** The owner of a run another process is running, if any. */
  runningElsewhere(owner: string): string | null {
    const row = this.sqlite
      .prepare("select owner from scan_runs where state = 'running' and owner is not null and owner != ? limit 1")
      .get(owner) as { owner: string } | undefined;
    return row?.owner ?? null;
  }

  /** State of the most recently started run (undefined: never scanned). */
  latestState(): string | undefined {
    const row = this.sqlite.prepare('select state from scan_runs order by started_at desc, rowid desc limit 1').get() as
      | { state: string }
      | undefined;
    return row?.state;
  }

  /**
   * When the last whole-library scan other than `runId` that finished or was interrupted started
   * (null: none). Folder-scoped scans do not count: they did not look at the other folders.
   */
  lastLibraryScanStart(runId: string): number | null {
    const row = this.sqlite
      .prepare(
        "select max(started_at) at from scan_runs where state in ('done', 'interrupted') and folders is null and id != ?",
      )
      .get(runId) as { at: number | null };
    return row.at;
  }

  start(p: ScanProgress, owner: string): void {
    this.sqlite
      .prepare(
        "insert into scan_runs (id, kind, state, phase, trigger, owner, folders, started_at) values (?, ?, 'running', ?, ?, ?, ?, ?)",
      )
      .run(p.runId, p.kind, p.phase, p.trigger, owner, p.folders ? JSON.stringify(p.folders) : null, p.startedAt);
  }

  saveProgress(p: ScanProgress): void {
    this.sqlite
      .prepare(
        'update scan_runs set phase = ?, files_total = ?, files_done = ?, added = ?, updated = ?, moved = ?, removed = ?, unreadable = ?, deferred = ? where id = ?',
      )
      .run(
        p.phase,
        p.filesTotal,
        p.filesDone,
        p.added,
        p.updated,
        p.moved,
        p.removed,
        p.unreadable,
        p.deferred,
        p.runId,
      );
  }

  finish(s: ScanSummary): void {
    this.saveProgress(s);
    this.sqlite
      .prepare('update scan_runs set state = ?, phase_ms = ?, error = ?, finished_at = ? where id = ?')
      .run(s.state, JSON.stringify(s.phaseMs), s.error, s.finishedAt, s.runId);
  }

  /** The most recent run that is not running any more. */
  lastFinished(): ScanRunView | null {
    const row = this.sqlite
      .prepare("select * from scan_runs where state != 'running' order by started_at desc, rowid desc limit 1")
      .get() as RunRow | undefined;
    return row ? toView(row) : null;
  }
}

export function toView(row: RunRow): ScanRunView {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    trigger: row.trigger,
    folders: row.folders ? (JSON.parse(row.folders) as string[]) : null,
    filesTotal: row.files_total,
    filesDone: row.files_done,
    added: row.added,
    updated: row.updated,
    moved: row.moved,
    removed: row.removed,
    unreadable: row.unreadable,
    deferred: row.deferred,
    phaseMs: JSON.parse(row.phase_ms) as Record<string, number>,
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
