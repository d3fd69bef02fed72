import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get } from '../api/client.js';
import { connection } from '../connection.svelte.js';
import { type Origin, serveAsOrigin } from '../../test/origin.js';
import { clearOffline, loadResponse, saveResponse } from './store.js';

describe('offline store (IndexedDB)', () => {
  it('keeps each response under its URL with the time it was saved, the newest copy winning', async () => {
    const before = Date.now();
    await saveResponse('/api/v1/albums?limit=50', { items: [{ id: 'a' }] });
    await saveResponse('/api/v1/albums?limit=10', { items: [] });
    await saveResponse('/api/v1/albums?limit=50', { items: [{ id: 'b' }] });
    const hit = await loadResponse('/api/v1/albums?limit=50');
    expect(hit?.body).toEqual({ items: [{ id: 'b' }] });
    expect(hit?.savedAt).toBeGreaterThanOrEqual(before);
    expect((await loadResponse('/api/v1/albums?limit=10'))?.body).toEqual({ items: [] });
    expect(await loadResponse('/api/v1/albums?limit=20')).toBeNull();
  });

  it('forgets everything on sign-out', async () => {
    await saveResponse('/api/v1/discover', { recent: [] });
    await clearOffline();
    expect(await loadResponse('/api/v1/discover')).toBeNull();
    expect(await loadResponse('/api/v1/albums?limit=50')).toBeNull();
  });
});

describe('library reads when the server goes away', () => {
  let server: Origin;
  let requests = 0;

  beforeAll(async () => {
    // The page's origin is the server's, as in the app (same-origin requests with the cookie).
    server = await serveAsOrigin((req, res) => {
      requests++;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify(req.url?.startsWith('/api/v1/me') ? { id: 'u1' } : { items: [{ id: 'g1' }], url: req.url }),
      );
    });
  });

  afterAll(() => server.close());

  it('answers library GETs from the last copy, says the data is stale, and never keeps live data', async () => {
    await clearOffline();
    const online = await get('/api/v1/genres', { query: { limit: 500 } });
    expect(online).toEqual({ items: [{ id: 'g1' }], url: '/api/v1/genres?limit=500' });
    await get('/api/v1/me', { offline: false });
    expect(requests).toBe(2);
    expect(connection.online).toBe(true);
    // saveResponse runs after the answer is returned; loading it back waits for that write.
    await expect.poll(() => loadResponse('/api/v1/genres?limit=500')).not.toBeNull();

    await server.close();
    const offline = await get('/api/v1/genres', { query: { limit: 500 } });
    expect(offline).toEqual(online);
    expect(connection.online).toBe(false);
    expect(connection.staleSince).not.toBeNull();
    // Account data is never answered from a copy: it fails with the offline error instead.
    await expect(get('/api/v1/me', { offline: false })).rejects.toMatchObject({ code: 'offline' });
    expect(await loadResponse('/api/v1/me')).toBeNull();
    // A library read never fetched before has nothing to fall back on.
    await expect(get('/api/v1/genres', { query: { limit: 5 } })).rejects.toMatchObject({ code: 'offline' });
  });
});
