import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What `bin/earshot.js` runs in a build `dist`: `cli/launch.cjs` (the one-file bundle through its
 * V8 code cache, server/src/cli/launch.ts, as CommonJS) in builds that have it, the ES
 * `cli/launch.js` in builds from before it, `cli/index.js` in older ones.
 */
export const entryOf = (dist: string) =>
  ['cli/launch.cjs', 'cli/launch.js', 'cli/index.js'].map((f) => join(dist, f)).find((f) => existsSync(f)) ??
  join(dist, 'cli/index.js');
