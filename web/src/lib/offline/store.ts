/**
 * IndexedDB copy of library metadata (GET responses of the native API), written after every
 * successful load so the app can still browse the library as last synced when the server is
 * unreachable. Only JSON metadata is kept — never credentials, never audio.
 */
const DB_NAME = 'earshot-offline';
const STORE = 'responses';

let dbPromise: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  dbPromise ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return dbPromise;
}

export interface CachedResponse {
  savedAt: number;
  body: unknown;
}

export async function saveResponse(key: string, body: unknown): Promise<void> {
  try {
    const db = await open();
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(STORE, 'readwrite');
      tx.objectStore(STORE).put({ savedAt: Date.now(), body } satisfies CachedResponse, key);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  } catch {
    // Private mode or quota: offline browsing is a bonus, never a reason to fail a request.
  }
}

export async function loadResponse(key: string): Promise<CachedResponse | null> {
  try {
    const db = await open();
    return await new Promise((resolve, reject) => {
      const req = db.transaction(STORE).objectStore(STORE).get(key);
      req.onsuccess = () => resolve((req.result as CachedResponse | undefined) ?? null);
      req.onerror = () => reject(req.error);
    });
  } catch {
    return null;
  }
}

/** The service worker's cache of cover images (build/sw.template.js); cleared with the rest on sign-out. */
export const COVER_CACHE = 'earshot-covers-v1';

export async function clearOffline(): Promise<void> {
  try {
    if ('caches' in globalThis) await caches.delete(COVER_CACHE);
  } catch {
    /* no Cache API (e.g. not a secure context) */
  }
  try {
    const db = await open();
    db.transaction(STORE, 'readwrite').objectStore(STORE).clear();
  } catch {
    /* nothing stored */
  }
}
