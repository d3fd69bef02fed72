import { ensureServerBuilt } from './build.js';

/** Vitest global setup (server project): build server/dist once for tests that spawn the CLI. */
export default function setup(): void {
  ensureServerBuilt();
}
