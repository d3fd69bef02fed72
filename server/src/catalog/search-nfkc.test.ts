/**
 * Search folds compatibility characters at indexing time (migration 0017), end to end: real files
 * tagged in fullwidth, ligatures, superscripts and halfwidth katakana, scanned by the real scanner,
 * found by ASCII (or fullwidth) typing through the web API and Subsonic search3, and displayed as
 * tagged.
 */
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio } from '../test/audio.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { type RestCaller, restCaller } from '../test/subsonic/client.js';

let t: TestServer;
let as: Record<string, string>;
let api: RestCaller;

const FILES: { path: string; tags: Record<string, string> }[] = [
  {
    path: 'Ｂａｎｄ/01.mp3',
    tags: { title: 'ＡＢＣ Ｓｏｎｇ', artist: 'Ｂａｎｄ', album: 'Ｈｉｔｓ', genre: 'Ｐｏｐ' },
  },
  { path: 'Other/01.mp3', tags: { title: 'ﬁre x²', artist: 'Ligature', album: 'Marks' } },
  { path: 'Other/02.mp3', tags: { title: 'ｶﾞｰﾙ', artist: 'Ligature', album: 'Marks' } },
  { path: 'Other/03.mp3', tags: { title: 'Plain Song', artist: 'Somebody', album: 'Ordinary' } },
];

beforeAll(async () => {
  t = await startTestServer({ env: { EARSHOT_SUBSONIC_REMOTE_SEARCH: 'false' } });
  for (const [i, file] of FILES.entries()) {
    const path = join(t.earshot.paths.musicDir, file.path);
    await makeAudio(path, { seconds: 1, frequency: 300 + 50 * i, tags: file.tags });
    // Files younger than the scanner's settle time are left for a later pass: age them.
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
  }
  await t.earshot.library.service.runScan({ full: true, trigger: 'test' });
  const alice = await t.createUser({ username: 'alice' });
  as = await t.authHeaders(alice);
  api = restCaller(t, { apiKey: (await t.earshot.accounts.subsonic.createApiKey(alice.id, 'test')).key });
}, 120_000);

afterAll(async () => {
  await t?.close();
});

const local = async (q: string) => {
  const res = await t.app.inject({ url: `/api/v1/search/local?q=${encodeURIComponent(q)}`, headers: as });
  expect(res.statusCode).toBe(200);
  return res.json() as {
    tracks: { title: string; artist: string }[];
    albums: { name: string }[];
    artists: { name: string }[];
    genres: { name: string }[];
  };
};

describe('search finds compatibility characters typed plainly (NFKC index)', () => {
  it('web API: "abc song" finds the fullwidth title, shown as tagged', async () => {
    const found = await local('abc song');
    expect(found.tracks.map((tr) => tr.title)).toEqual(['ＡＢＣ Ｓｏｎｇ']);
    expect(found.tracks[0].artist).toBe('Ｂａｎｄ');
    // Fullwidth typing still finds it, and finds ASCII titles too.
    expect((await local('ＡＢＣ')).tracks.map((tr) => tr.title)).toEqual(['ＡＢＣ Ｓｏｎｇ']);
    expect((await local('ｐｌａｉｎ')).tracks.map((tr) => tr.title)).toEqual(['Plain Song']);
    // Albums, artists and genres are folded too.
    const band = await local('band hits');
    expect(band.albums.map((a) => a.name)).toEqual(['Ｈｉｔｓ']);
    expect((await local('band')).artists.map((a) => a.name)).toEqual(['Ｂａｎｄ']);
    expect((await local('pop')).genres.map((g) => g.name)).toEqual(['Ｐｏｐ']);
  });

  it('web API: ligatures, superscripts and halfwidth katakana', async () => {
    expect((await local('fire')).tracks.map((tr) => tr.title)).toEqual(['ﬁre x²']);
    expect((await local('x2')).tracks.map((tr) => tr.title)).toEqual(['ﬁre x²']);
    expect((await local('ガール')).tracks.map((tr) => tr.title)).toEqual(['ｶﾞｰﾙ']);
    expect((await local('ｶﾞｰﾙ')).tracks.map((tr) => tr.title)).toEqual(['ｶﾞｰﾙ']);
  });

  it('Subsonic search3: "abc song" finds the fullwidth title, shown as tagged', async () => {
    const r = await api.json('search3', { query: 'abc song', artistCount: 5, albumCount: 5, songCount: 5 });
    expect(r.status).toBe('ok');
    expect(r.searchResult3.song.map((s: { title: string }) => s.title)).toEqual(['ＡＢＣ Ｓｏｎｇ']);
    const band = await api.json('search3', { query: 'band', artistCount: 5, albumCount: 5, songCount: 5 });
    expect(band.searchResult3.artist.map((a: { name: string }) => a.name)).toEqual(['Ｂａｎｄ']);
    expect(band.searchResult3.album.map((a: { name: string }) => a.name)).toEqual(['Ｈｉｔｓ']);
  });
});
