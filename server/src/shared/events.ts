/**
 * In-process domain events, so areas react to each other without importing each other's services.
 * @example events.on('playlist.tracksAdded', ({ playlistId, trackIds }) => queueCaching(trackIds));
 */
import { EventEmitter } from 'node:events';

export interface DomainEvents {
  /** A playlist's `is_offline` flag changed. */
  'playlist.offlineChanged': { playlistId: string; ownerId: string; isOffline: boolean };
  /** Tracks were added to a playlist (ids of `tracks` rows). */
  'playlist.tracksAdded': { playlistId: string; ownerId: string; trackIds: string[] };
  /** A scan finished (full or incremental). */
  'library.scanned': { added: number; updated: number; removed: number; moved: number };
  /** Tracks were deleted from the catalog (e.g. files removed). */
  'library.tracksRemoved': { trackIds: string[] };
  /** A remote track finished caching. */
  'sources.cached': { trackId: string };
}

export class EventBus {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(50);
  }
  on<K extends keyof DomainEvents>(name: K, listener: (payload: DomainEvents[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }
  emit<K extends keyof DomainEvents>(name: K, payload: DomainEvents[K]): void {
    // Listeners must not break the emitter's caller: failures are reported, not thrown.
    for (const listener of this.emitter.listeners(name)) {
      try {
        (listener as (p: DomainEvents[K]) => void)(payload);
      } catch (err) {
        this.emitter.emit('error', err);
      }
    }
  }
  onError(listener: (err: unknown) => void): void {
    this.emitter.on('error', listener);
  }
}
