/**
 * Server information for the admin dashboard: version, uptime, runtime, external tools and counts.
 * Tool probing spawns processes, so its result is kept for a minute.
 */
import type { Config } from '../config/schema.js';
import { VERSION } from '../shared/version.js';
import type { Clock } from '../shared/time.js';
import type { SystemRepository } from './system.repository.js';
import { probeTools, type ToolStatus, toolWarning } from './tools.js';

const TOOLS_CACHE_MS = 60_000;

export class AdminService {
  private tools: { at: number; value: ToolStatus[] } | null = null;

  constructor(
    private readonly options: {
      repo: SystemRepository;
      clock: Clock;
      config: Pick<Config, 'ffmpegPath' | 'ffprobePath' | 'ytDlpPath' | 'publicUrl'>;
      startedAt: number;
    },
  ) {}

  async serverInfo() {
    const { repo, clock, config, startedAt } = this.options;
    const now = clock.now();
    if (!this.tools || now - this.tools.at > TOOLS_CACHE_MS) this.tools = { at: now, value: probeTools(config) };
    const count = (table: 'users' | 'tracks' | 'albums' | 'artists' | 'playlists') => repo.count(table);
    const [users, tracks, albums, artists, playlists] = await Promise.all([
      count('users'),
      count('tracks'),
      count('albums'),
      count('artists'),
      count('playlists'),
    ]);
    return {
      version: VERSION,
      startedAt,
      uptimeSeconds: Math.max(0, Math.floor((now - startedAt) / 1000)),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      publicUrl: config.publicUrl ?? null,
      tools: this.tools.value.map((t) => ({
        name: t.name,
        available: t.available,
        version: t.version ?? null,
        warning: toolWarning(t, now),
        needed: t.needed,
        install: t.install,
      })),
      counts: { users, tracks, albums, artists, playlists },
    };
  }
}
