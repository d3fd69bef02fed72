/**
 * Verifies a backup copy on its own thread (backup.ts `verifyDatabaseFileOffThread`):
 * `integrity_check` reads every page of the file and cannot be interrupted, which took seconds on a
 * 50,000-track database and held the server's event loop — every request waited — while a
 * scheduled backup verified itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BackupError, verifyDatabaseFile } from './backup.js';

export type VerifyReply = { migrations: string[] } | { error: string; backupError: boolean };

const port = parentPort;
if (!port) throw new Error('backup-worker runs as a worker thread');
try {
  port.postMessage(verifyDatabaseFile((workerData as { file: string }).file) satisfies VerifyReply);
} catch (err) {
  port.postMessage({
    error: err instanceof Error ? err.message : String(err),
    backupError: err instanceof BackupError,
  } satisfies VerifyReply);
}
