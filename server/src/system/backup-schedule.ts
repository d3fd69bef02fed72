/**
 * Backups that run themselves (EARSHOT_BACKUP_INTERVAL_HOURS, EARSHOT_BACKUP_KEEP): every N hours
 * the running server writes a verified backup (`earshot-auto-<time>.db` + `.key`, mode 600) into
 * `<data dir>/backups` and then deletes the oldest scheduled ones beyond the retention. Backups you
 * make by hand (`earshot backup`) are never deleted.
 *
 * The schedule follows the files, not the process: after a restart the next backup is due one
 * interval after the newest scheduled one, so a server restarted every hour (a phone) still backs
 * up daily, and one that was off for a week backs up at once.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { DataPaths } from '../shared/fs-paths.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/logger.js';
import { telemetry } from '../shared/telemetry.js';
import { backupDatabase, defaultBackupDir } from './backup.js';

export const AUTO_PREFIX = 'earshot-auto';
const AUTO_FILE = /^earshot-auto-\d{8}-\d{6}Z\.db$/;
/** setTimeout's ceiling (~24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Scheduled backups in `dir`, oldest first (their names sort by time). */
export function scheduledBackups(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => AUTO_FILE.test(n))
      .sort();
  } catch {
    return [];
  }
}

/** Deletes scheduled backups (and their keys) beyond the newest `keep`. Returns the deleted names. */
export function pruneBackups(dir: string, keep: number): string[] {
  const all = scheduledBackups(dir);
  const doomed = all.slice(0, Math.max(0, all.length - keep));
  for (const name of doomed) {
    rmSync(join(dir, name), { force: true });
    rmSync(join(dir, `${name}.key`), { force: true });
  }
  return doomed;
}

/** Runs one scheduled backup and prunes; never throws (a failed backup is logged and counted). */
export async function runScheduledBackup(o: {
  paths: DataPaths;
  keep: number;
  logger: Logger;
  now?: Date;
}): Promise<boolean> {
  const log = o.logger.child({ area: 'backup' });
  try {
    const r = await backupDatabase({ dbFile: o.paths.dbFile, dbDir: o.paths.dbDir, prefix: AUTO_PREFIX, now: o.now });
    const removed = pruneBackups(defaultBackupDir(o.paths.dbDir), o.keep);
    telemetry.add('earshot_backups_total', { outcome: 'ok' });
    telemetry.set('earshot_backup_last_success_timestamp_seconds', {}, Date.now() / 1000);
    log.info({ file: r.file, bytes: r.bytes, removed }, 'scheduled backup written and verified');
    return true;
  } catch (err) {
    telemetry.add('earshot_backups_total', { outcome: 'failed' });
    log.error({ err }, 'scheduled backup failed');
    return false;
  }
}

export function startBackupSchedule(o: {
  config: Pick<Config, 'backupIntervalHours' | 'backupKeep'>;
  paths: DataPaths;
  logger: Logger;
  lifecycle: Lifecycle;
  /** Called after each scheduled run (tests wait on it instead of sleeping). */
  onRun?: (ok: boolean) => void;
}): BackupSchedule {
  const intervalMs = o.config.backupIntervalHours * 3_600_000;
  const dir = defaultBackupDir(o.paths.dbDir);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | null = null;
  let stopped = false;
  // After a failure, try again in an hour (or one interval when shorter), not in a tight loop.
  let retryAt = 0;

  const dueAt = () => {
    const newest = scheduledBackups(dir).at(-1);
    let due = Date.now();
    try {
      if (newest) due = statSync(join(dir, newest)).mtimeMs + intervalMs;
    } catch {
      // vanished meanwhile: due now
    }
    return Math.max(due, retryAt);
  };
  const arm = () => {
    if (stopped) return;
    const wait = Math.max(0, dueAt() - Date.now());
    timer = setTimeout(tick, Math.min(wait, MAX_TIMER_MS));
    // Never what keeps the process alive.
    timer.unref();
  };
  const tick = () => {
    if (dueAt() > Date.now()) return arm(); // a long wait re-armed in steps
    running = runScheduledBackup({ paths: o.paths, keep: o.config.backupKeep, logger: o.logger }).then((ok) => {
      retryAt = ok ? 0 : Date.now() + Math.min(intervalMs, 3_600_000);
      running = null;
      arm();
      o.onRun?.(ok);
    });
  };
  // A backup cut short by kill -9 leaves its temp file (never a final name): sweep those.
  const stale = (() => {
    try {
      return readdirSync(dir).filter((n) => /^\.earshot-auto-.*\.part$/.test(n));
    } catch {
      return [];
    }
  })();
  for (const n of stale) rmSync(join(dir, n), { force: true });
  o.logger.info(
    { area: 'backup', everyHours: o.config.backupIntervalHours, keep: o.config.backupKeep, dir },
    'scheduled backups on',
  );
  arm();
  o.lifecycle.onStop('backup schedule', async () => {
    stopped = true;
    clearTimeout(timer);
    await running; // a backup in progress finishes before the database closes
  });
  return { dueAt };
}

export interface BackupSchedule {
  /** When the next scheduled backup runs (ms since the epoch). */
  dueAt(): number;
}
