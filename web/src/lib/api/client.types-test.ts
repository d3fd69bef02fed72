/**
 * Compile-time checks of the typed client, run by `npm run check -w web` (svelte-check): every
 * `@ts-expect-error` below must meet an error, else the check fails ("unused directive"). Nothing
 * imports this file, so it never reaches the bundle.
 */
import { del, get, patch, post } from './client.js';

export async function typedByPath() {
  // The result is the route's response shape.
  const album = await get('/api/v1/albums/{id}', { path: { id: 'a' } });
  const title: string = album.name;
  // @ts-expect-error — an album has no `bitrate`
  void album.bitrate;
  // @ts-expect-error — a path parameter the route needs is missing
  await get('/api/v1/albums/{id}');
  // @ts-expect-error — the path parameter is called `id`, not `albumId`
  await get('/api/v1/albums/{id}', { path: { albumId: 'a' } });
  // @ts-expect-error — no such route
  await get('/api/v1/album');
  // @ts-expect-error — the route has no DELETE
  await del('/api/v1/albums/{id}', { path: { id: 'a' } });
  // @ts-expect-error — a query parameter the route does not take
  await get('/api/v1/albums', { query: { colour: 'red' } });
  // @ts-expect-error — `sort` takes one of the route's values only
  await get('/api/v1/albums', { query: { sort: 'loudness' } });
  // @ts-expect-error — the body is required and typed: `toPosition` is a number
  await post('/api/v1/playlists/{id}/move', { path: { id: 'p' }, body: { entryId: 'e', toPosition: '1' } });
  // @ts-expect-error — PATCH of a playlist takes no `owner`
  await patch('/api/v1/playlists/{id}', { path: { id: 'p' }, body: { owner: 'x' } });
  // @ts-expect-error — only routes whose body may be text take `text`
  await post('/api/v1/playlists', { text: { body: 'x', type: 'text/plain' } });
  const page = await get('/api/v1/tracks', { query: { limit: 10 } });
  // @ts-expect-error — a page's items are tracks, not strings
  const first: string = page.items[0]!;
  // A 204 has no body.
  const nothing: undefined = await del('/api/v1/playlists/{id}', { path: { id: 'p' } });
  return [title, first, nothing];
}
