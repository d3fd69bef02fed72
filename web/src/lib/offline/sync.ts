/**
 * Keeps the offline copy of the library fresh: a few seconds after sign-in, the first page of each
 * main screen is fetched through the normal service layer (which stores every library GET in
 * IndexedDB), so those screens open offline even if they were not visited this session.
 * The parameters match what the screens request, so they find the same entries.
 */
import { api } from '../api/index.js';

export function scheduleOfflineSync(delayMs = 3000): void {
  setTimeout(() => {
    const jobs: Promise<unknown>[] = [
      api.library.discover(),
      api.library.albums({ sort: 'recent', offset: 0, limit: 60 }),
      api.library.artists({ offset: 0, limit: 60 }),
      api.library.tracks({ sort: 'title', offset: 0, limit: 200 }),
      api.library.genres(),
      api.likes.tracks(),
      api.playlists.list(),
    ];
    // Best effort: offline copies are a convenience, never an error the user has to see.
    void Promise.allSettled(jobs);
  }, delayMs);
}
