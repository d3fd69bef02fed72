/* Earshot service worker (hand-written; the build fills in VERSION and SHELL).
 * - App shell (index.html + hashed assets + icons) is precached per build version, so the app opens
 *   with the server down. Old versions are deleted on activate.
 * - Navigations: network first (a new build shows up at once), cached index.html when offline.
 * - Hashed /assets/: cache first (they are immutable).
 * - Cover images the user has seen (album/track covers, artwork, remote thumbnails) go into a
 *   separate, bounded cache (COVER_LIMIT entries, oldest dropped first) so offline browsing shows
 *   them: content-addressed ones (artwork, thumbnails) cache first, album/track covers network
 *   first (the art may change after a rescan) with the cached copy when the server is unreachable.
 *   The app deletes this cache on sign-out.
 * - Streams (/stream/{id}): the copy the user downloaded to this device (Cache Storage AUDIO, put
 *   there by the app's Download button) when there is one — with byte ranges, so seeking works —
 *   else the network. The worker never adds audio to that cache by itself.
 * - API and everything else: straight to the network. Library metadata for offline use lives in
 *   IndexedDB, written by the app itself.
 */
const VERSION = '__VERSION__';
const SHELL = __SHELL__;
const CACHE = `earshot-shell-${VERSION}`;
/** Same name as COVER_CACHE in src/lib/offline/store.ts. */
const COVERS = 'earshot-covers-v1';
const COVER_LIMIT = 600;
const IMMUTABLE_COVER = /^\/api\/v1\/(artwork\/[^/]+|remote\/thumbnail)$/;
const COVER = /^\/api\/v1\/(albums|tracks)\/[^/]+\/cover$/;
/** Same name as AUDIO_CACHE in src/lib/offline/downloads.svelte.ts. */
const AUDIO = 'earshot-audio-v1';
const STREAM = /^\/stream\/[^/]+$/;

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
  if (url.origin !== self.location.origin) return;
  if (IMMUTABLE_COVER.test(url.pathname) || COVER.test(url.pathname)) {
    event.respondWith(cover(request, IMMUTABLE_COVER.test(url.pathname)));
    return;
  }
  if (STREAM.test(url.pathname) && !url.search) {
    event.respondWith(stream(request, url.pathname));
    return;
  }
  if (SERVER.test(url.pathname)) return;

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

/** A cover image: from the network (or cache first when immutable), kept in the bounded cover cache. */
async function cover(request, immutable) {
  const cache = await caches.open(COVERS);
  const hit = await cache.match(request);
  if (hit && immutable) return hit;
  let response;
  try {
    response = await fetch(request);
  } catch (err) {
    if (hit) return hit;
    throw err;
  }
  const type = response.headers.get('content-type') || '';
  if (response.ok && response.status === 200 && type.startsWith('image/')) {
    const changed = !hit || hit.headers.get('etag') !== response.headers.get('etag');
    if (changed) {
      const copy = response.clone();
      // Bounded: once over the limit, the oldest entries (insertion order) are dropped.
      cache
        .put(request, copy)
        .then(() => cache.keys())
        .then((keys) => Promise.all(keys.slice(0, Math.max(0, keys.length - COVER_LIMIT)).map((k) => cache.delete(k))))
        .catch(() => {});
    }
  } else if (!response.ok && hit && response.status >= 500) {
    return hit;
  }
  return response;
}

/** A downloaded track from the audio cache (a byte range of it when asked), else the network. */
async function stream(request, path) {
  const hit = await caches.open(AUDIO).then((cache) => cache.match(path));
  if (!hit) return fetch(request);
  const blob = await hit.blob();
  const size = blob.size;
  const type = hit.headers.get('content-type') || 'audio/mpeg';
  const headers = { 'content-type': type, 'accept-ranges': 'bytes', 'x-earshot-source': 'device' };
  const m = /^bytes=(\d*)-(\d*)$/.exec((request.headers.get('range') || '').trim());
  if (!m || (m[1] === '' && m[2] === '')) {
    return new Response(blob, { status: 200, headers: { ...headers, 'content-length': String(size) } });
  }
  let start;
  let end;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) {
    return new Response(null, { status: 416, headers: { 'content-range': `bytes */${size}` } });
  }
  return new Response(blob.slice(start, end + 1), {
    status: 206,
    headers: {
      ...headers,
      'content-length': String(end - start + 1),
      'content-range': `bytes ${start}-${end}/${size}`,
    },
  });
}

self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
});
