import { describe, expect, it } from 'vitest';
import { scopeLauncherPreload } from './launcher-env.js';

const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

describe("the launcher's jemalloc preload", () => {
  it('stays with the server: the programs it starts do not inherit it', () => {
    const env: NodeJS.ProcessEnv = {
      LD_PRELOAD: JEMALLOC,
      EARSHOT_PRELOADED: JEMALLOC,
      MALLOC_CONF: 'x',
      PATH: '/bin',
    };
    scopeLauncherPreload(env);
    expect(env).toEqual({ MALLOC_CONF: 'x', PATH: '/bin' });
  });

  it('leaves a preload the user set alone', () => {
    const mine: NodeJS.ProcessEnv = { LD_PRELOAD: '/opt/mine.so' };
    scopeLauncherPreload(mine);
    expect(mine).toEqual({ LD_PRELOAD: '/opt/mine.so' });
    // Marker present but the user changed LD_PRELOAD afterwards: theirs stays, the marker goes.
    const changed: NodeJS.ProcessEnv = { LD_PRELOAD: '/opt/mine.so', EARSHOT_PRELOADED: JEMALLOC };
    scopeLauncherPreload(changed);
    expect(changed).toEqual({ LD_PRELOAD: '/opt/mine.so' });
  });
});
