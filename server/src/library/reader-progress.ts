/**
 * The counters a tag reader (tag-worker.ts) shares with its pool (worker-pool.ts), in a
 * SharedArrayBuffer of BigInt64s: the reader sends its results in batches, so the pool cannot tell
 * from the results which file is being read when a time budget runs out; these tell it without a
 * message per file.
 */

/** Jobs the reader has finished (results sent or about to be sent), since it started. */
export const FINISHED = 0;
/** When the job being read started (ms since the epoch). */
export const STARTED_AT = 1;
export const PROGRESS_BYTES = 2 * BigInt64Array.BYTES_PER_ELEMENT;
