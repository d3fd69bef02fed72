import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defineRoutes, navigate, router } from './router.svelte.js';

const TABLE = {
  '/': 'home',
  '/search': 'search',
  '/album/:id': 'album',
  '/genre/:name': 'genre',
  '/playlist/:id': 'playlist',
  '/settings': 'settings',
};

beforeAll(() => {
  defineRoutes(TABLE);
  history.replaceState({}, '', '/');
  router.start();
});

beforeEach(() => {
  document.body.replaceChildren();
  navigate('/', { replace: true });
});

/**
 * Clicks a link in the page like a user would (left button unless told otherwise) and says whether
 * the router took the click over. The browser's own following of the link is then cancelled at the
 * window (the last listener), so the test page stays where it is.
 */
function click(href: string, init: MouseEventInit = {}, attrs: Record<string, string> = {}): boolean {
  const a = document.createElement('a');
  a.setAttribute('href', href);
  for (const [k, v] of Object.entries(attrs)) a.setAttribute(k, v);
  a.textContent = 'link';
  document.body.append(a);
  let takenOver = false;
  const last = (event: Event) => {
    takenOver = event.defaultPrevented;
    event.preventDefault();
  };
  addEventListener('click', last);
  a.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, button: 0, ...init }));
  removeEventListener('click', last);
  return takenOver;
}

describe('router', () => {
  it('matches patterns, decodes parameters, keeps the query and tolerates a trailing slash', () => {
    navigate('/album/a%2Fb%20c?from=search');
    expect(router.current.name).toBe('album');
    expect(router.current.params).toEqual({ id: 'a/b c' });
    expect(router.current.query.get('from')).toBe('search');
    expect(location.pathname).toBe('/album/a%2Fb%20c');
    navigate('/genre/Hip-Hop/');
    expect(router.current).toMatchObject({ name: 'genre', params: { name: 'Hip-Hop' } });
  });

  it('answers not-found for unknown paths and for extra segments', () => {
    navigate('/nowhere');
    expect(router.current.name).toBe('not-found');
    navigate('/album/1/extra');
    expect(router.current.name).toBe('not-found');
    // A pattern's dots are literal, not "any character".
    defineRoutes({ '/a.b': 'dotted', '/': 'home' });
    navigate('/axb');
    expect(router.current.name).toBe('not-found');
    navigate('/a.b');
    expect(router.current.name).toBe('dotted');
    defineRoutes(TABLE);
  });

  it('pushes history entries, or replaces the current one when asked', () => {
    const before = history.length;
    navigate('/settings');
    expect(history.length).toBe(before + 1);
    navigate('/playlist/7', { replace: true });
    expect(history.length).toBe(before + 1);
    expect(router.current).toMatchObject({ name: 'playlist', params: { id: '7' } });
    // Navigating to where we are adds nothing.
    navigate('/playlist/7');
    expect(history.length).toBe(before + 1);
  });

  it('follows the browser back and forward (popstate)', () => {
    navigate('/settings');
    navigate('/album/42');
    history.replaceState({}, '', '/settings'); // what the browser does on Back, before popstate
    dispatchEvent(new PopStateEvent('popstate'));
    expect(router.current.name).toBe('settings');
  });

  it('takes over plain left clicks on in-app links', () => {
    expect(click('/album/9')).toBe(true);
    expect(router.current).toMatchObject({ name: 'album', params: { id: '9' } });
  });

  it('leaves the browser alone for modified clicks, other windows, downloads, server routes and other origins', () => {
    const cases: [string, MouseEventInit, Record<string, string>][] = [
      ['/album/1', { ctrlKey: true }, {}],
      ['/album/1', { metaKey: true }, {}],
      ['/album/1', { shiftKey: true }, {}],
      ['/album/1', { button: 1 }, {}],
      ['/album/1', {}, { target: '_blank' }],
      ['/album/1', {}, { download: '' }],
      ['/album/1', {}, { 'data-external': '' }],
      ['/api/v1/playlists/1/export.m3u8', {}, {}],
      ['/stream/abc', {}, {}],
      ['/share/tok', {}, {}],
      ['/rest/ping.view', {}, {}],
      ['/auth/oidc/login', {}, {}],
      ['//elsewhere.example/album/1', {}, {}],
      ['https://elsewhere.example/', {}, {}],
    ];
    for (const [href, init, attrs] of cases) {
      expect(click(href, init, attrs), `${href} ${JSON.stringify({ ...init, ...attrs })}`).toBe(false);
      expect(router.current.name).toBe('home');
    }
  });

  it('sets and clears one query parameter in place', () => {
    navigate('/search?q=jazz');
    const before = history.length;
    router.setQuery('tab', 'albums');
    expect(location.search).toBe('?q=jazz&tab=albums');
    expect(router.current.query.get('tab')).toBe('albums');
    router.setQuery('q', null);
    expect(location.search).toBe('?tab=albums');
    expect(router.current.name).toBe('search');
    expect(history.length).toBe(before);
  });
});
