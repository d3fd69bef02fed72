/* Earshot service worker (hand-written; the build fills in VERSION and SHELL).
 * - App shell (index.html + hashed assets + icons) is precached per build version, so the app opens
 *   with the server down. Old versions are deleted on activate.
 * - Navigations: network first (a new build shows up at once), cached index.html when offline.
 * - Hashed /assets/: cache first (they are immutable).
 * - API, streams and everything else: straight to the network. Library metadata for offline use
 *   lives in IndexedDB, written by the app itself; audio is never cached here.
 */
const VERSION = '__VERSION__';
const SHELL = __SHELL__;
const CACHE = `earshot-shell-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(keys.filter((k) => k.startsWith('earshot-shell-') && k !== CACHE).map((k) => caches.delete(k))),
      )
      .then(() => self.clients.claim()),
  );
});

const SERVER = /^\/(api|auth|stream|share|rest|system)(\/|$)|^\/(healthz|readyz|metrics)$/;

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || SERVER.test(url.pathname)) return;

  if (request.mode === 'navigate') {
    event.respondWith(
      fetch(request).catch(() =>
        caches
          .open(CACHE)
          .then((cache) => cache.match('/index.html'))
          .then((r) => r || Response.error()),
      ),
    );
    return;
  }
  event.respondWith(
    caches.open(CACHE).then((cache) =>
      cache.match(url.pathname).then(
        (hit) =>
          hit ||
          fetch(request).then((response) => {
            if (response.ok && url.pathname.startsWith('/assets/')) cache.put(url.pathname, response.clone());
            return response;
          }),
      ),
    ),
  );
});

self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
});
