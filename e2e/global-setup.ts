import { ensureBuilt } from './support/build.js';

/** Vitest global setup (e2e project): the tests drive the real built server and web app. */
export default function setup(): void {
  ensureBuilt();
}
