/**
 * A walk thread (walk-thread.ts `walkShared`): takes the shared folders one at a time, walks each
 * whole with the main thread's code (symlink rules, sidecars, folder images: walk.ts), posts the
 * packed result once and ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { emptyWalk, walker, walkTree } from './walk.js';
import { packWalk, takeShare, type WalkReply, type WalkRequest } from './walk-thread.js';

const port = parentPort;
if (!port) throw new Error('walk-worker runs as a worker thread');
const { realRoot, shares, owners, me } = workerData as WalkRequest;
try {
  const out = emptyWalk();
  const w = walker(realRoot);
  for (let i = takeShare(owners, me, 0); i >= 0; i = takeShare(owners, me, i + 1)) {
    await walkTree(w, [shares[i]], out);
  }
  const walk = packWalk(out);
  const transfer = [walk.sizes.buffer, walk.mtimes.buffer, walk.changedAt.buffer] as ArrayBuffer[];
  port.postMessage({ ok: true, walk } satisfies WalkReply, transfer);
} catch (err) {
  port.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) } satisfies WalkReply);
}
