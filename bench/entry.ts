import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What `bin/earshot.js` runs in a build `dist`: `cli/launch.js` (the one-file bundle through its V8
 * code cache, server/src/cli/launch.ts) in builds that have it, `cli/index.js` in older ones.
 */
export const entryOf = (dist: string) =>
  existsSync(join(dist, 'cli/launch.js')) ? join(dist, 'cli/launch.js') : join(dist, 'cli/index.js');
