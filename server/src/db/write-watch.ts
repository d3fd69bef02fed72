/**
 * Notices writes to the database cheaply, for caches that must not outlive them: this
 * connection's `total_changes()` (every in-process writer shares the connection; read on every
 * call, ~0.3 µs, no lock) and `data_version` (commits by other connections and processes, such as
 * the CLI; ~6 µs, so read at most every `everyMs`). The token changes at once for writes in this
 * process and within `everyMs` for anyone else's.
 */
import type SQLite from 'better-sqlite3';

export class WriteWatch {
  private readonly changes;
  private readonly dataVersion;
  private version = 0;
  private versionAt = Number.NEGATIVE_INFINITY;

  constructor(
    sqlite: SQLite.Database,
    private readonly everyMs = 250,
  ) {
    this.changes = sqlite.prepare('select total_changes()').pluck();
    this.dataVersion = sqlite.prepare('select data_version from pragma_data_version').pluck();
  }

  /** Changes whenever anything was written since the last call (see the module comment). */
  token(now = Date.now()): string {
    if (now - this.versionAt >= this.everyMs) {
      this.version = this.dataVersion.get() as number;
      this.versionAt = now;
    }
    return `${this.changes.get() as number}:${this.version}`;
  }

  /** Reads `data_version` again on the next call. */
  reset(): void {
    this.versionAt = Number.NEGATIVE_INFINITY;
  }
}
