/**
 * Who is playing what right now (Subsonic `scrobble?submission=false` → `getNowPlaying`). In
 * memory: entries older than the track's length (or 15 minutes when unknown) drop out.
 */
import type { Clock } from '../shared/time.js';

export interface NowPlayingEntry {
  userId: string;
  username: string;
  trackId: string;
  client: string;
  startedAt: number;
  durationMs: number | null;
}

const DEFAULT_TTL_MS = 15 * 60_000;

export class NowPlaying {
  private readonly entries = new Map<string, NowPlayingEntry>();

  constructor(private readonly clock: Clock) {}

  /** One entry per user and client (a phone and a laptop can both play). */
  set(entry: Omit<NowPlayingEntry, 'startedAt'>): void {
    this.entries.set(`${entry.userId}\u0000${entry.client}`, { ...entry, startedAt: this.clock.now() });
  }

  list(): NowPlayingEntry[] {
    const now = this.clock.now();
    const out: NowPlayingEntry[] = [];
    for (const [key, e] of this.entries) {
      const ttl = e.durationMs !== null ? e.durationMs + 60_000 : DEFAULT_TTL_MS;
      if (now - e.startedAt > ttl) this.entries.delete(key);
      else out.push(e);
    }
    return out.sort((a, b) => b.startedAt - a.startedAt);
  }
}
