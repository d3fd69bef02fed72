/**
 * Remembers recent search hits (bounded LRU), so adding one to the catalog right after a search —
 * the usual flow: search, then play/like/add — needs no second round trip to the service.
 */
import type { RemoteMetadata, RemoteSource } from '../providers/provider.js';

export class RecentResults {
  private readonly items = new Map<string, RemoteMetadata>();

  constructor(private readonly capacity = 2000) {}

  remember(list: RemoteMetadata[]): void {
    for (const m of list) {
      const key = `${m.source}:${m.remoteId}`;
      this.items.delete(key);
      this.items.set(key, m);
    }
    while (this.items.size > this.capacity) this.items.delete(this.items.keys().next().value as string);
  }

  get(source: RemoteSource, remoteId: string): RemoteMetadata | null {
    return this.items.get(`${source}:${remoteId}`) ?? null;
  }
}
