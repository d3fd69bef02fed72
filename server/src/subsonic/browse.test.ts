/**
 * Browsing, lists, search, annotation, playlists, queue, bookmarks, shares, users and scanning
 * through `/rest` on a real scanned library. Every XML answer is validated against the 1.16.1 XSD
 * (test/subsonic/client.ts); the same calls in JSON are checked for content.
 */
import { forEachServerEngine } from '../test/engines.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { type RestCaller, restCaller } from '../test/subsonic/client.js';
import { buildLibrary, idsOf } from '../test/subsonic/library.js';

let t: TestServer;
let alice: TestUser;
let api: RestCaller;
let ids: Awaited<ReturnType<typeof idsOf>>;

forEachServerEngine(() => {
  beforeAll(async () => {
    // Remote providers are covered in remote.test.ts; here search3 answers from the library only.
    t = await startTestServer({ env: { EARSHOT_SUBSONIC_REMOTE_SEARCH: 'false' } });
    alice = await t.createUser({ username: 'alice' });
    await buildLibrary(t);
    ids = await idsOf(t);
    const key = await t.earshot.accounts.subsonic.createApiKey(alice.id, 'test');
    api = restCaller(t, { apiKey: key.key });
  });
  afterAll(() => t.close());
  describe('browsing', () => {
    it('every read method answers schema-valid XML', async () => {
      const dawn = ids.track('Dawn');
      const album = ids.album('First Light');
      const artist = ids.artist('Alpha Band');
      const calls: [string, Record<string, string>][] = [
        ['ping.view', {}],
        ['getLicense', {}],
        ['getMusicFolders', {}],
        ['getIndexes', {}],
        ['getArtists', {}],
        ['getMusicDirectory', { id: artist.id }],
        ['getMusicDirectory', { id: album.id }],
        ['getArtist', { id: artist.id }],
        ['getAlbum', { id: album.id }],
        ['getSong', { id: dawn.id }],
        ['getGenres', {}],
        ['getArtistInfo', { id: artist.id }],
        ['getArtistInfo2', { id: artist.id }],
        ['getAlbumInfo', { id: album.id }],
        ['getAlbumInfo2', { id: album.id }],
        ['getSimilarSongs', { id: dawn.id }],
        ['getSimilarSongs2', { id: artist.id }],
        ['getTopSongs', { artist: 'Alpha Band' }],
        ['getRandomSongs', { size: '3' }],
        ['getSongsByGenre', { genre: 'Rock' }],
        ['getNowPlaying', {}],
        ['getStarred', {}],
        ['getStarred2', {}],
        ['search2', { query: 'dawn' }],
        ['search3', { query: '' }],
        ['getPlaylists', {}],
        ['getPlayQueue', {}],
        ['getBookmarks', {}],
        ['getShares', {}],
        ['getUser', { username: 'alice' }],
        ['getScanStatus', {}],
        ['getInternetRadioStations', {}],
        ['getPodcasts', {}],
        ['getNewestPodcasts', {}],
        ['getVideos', {}],
        ['getOpenSubsonicExtensions', {}],
        ['getLyricsBySongId', { id: dawn.id }],
        ['getLyrics', { artist: 'Alpha Band', title: 'Dawn' }],
        ['tokenInfo', {}],
        ['getSong', { id: 'doesNotExist' }],
        ['jukeboxControl', { action: 'status' }],
      ];
      for (const type of [
        'random',
        'newest',
        'highest',
        'frequent',
        'recent',
        'alphabeticalByName',
        'alphabeticalByArtist',
        'starred',
      ]) {
        calls.push(['getAlbumList', { type }], ['getAlbumList2', { type }]);
      }
      calls.push(['getAlbumList2', { type: 'byYear', fromYear: '2010', toYear: '1990' }]);
      calls.push(['getAlbumList', { type: 'byGenre', genre: 'Jazz' }]);
      for (const [method, q] of calls) await api.xml(method, q);
    });

    it('the artist index groups by letter, ignoring articles; ID3 artists carry album counts', async () => {
      const r = await api.json('getArtists');
      expect(r.artists.ignoredArticles).toContain('The');
      const letters = r.artists.index.map((i: { name: string }) => i.name);
      expect(letters).toEqual(['A', 'B', 'G']);
      const gamma = r.artists.index[2].artist[0];
      expect(gamma).toMatchObject({ name: 'The Gamma', albumCount: 1, coverArt: `ar-${gamma.id}` });
      const indexes = await api.json('getIndexes');
      expect(indexes.indexes.lastModified).toBeGreaterThan(0);
      expect(indexes.indexes.index).toHaveLength(3);
    });

    it('album → songs with Child fields clients rely on, and OpenSubsonic fields always present', async () => {
      const album = ids.album('First Light');
      const r = await api.json('getAlbum', { id: album.id });
      expect(r.album).toMatchObject({
        name: 'First Light',
        artist: 'Alpha Band',
        songCount: 2,
        year: 2001,
        genre: 'Rock',
      });
      expect(r.album.song).toHaveLength(2);
      const [dawn, noon] = r.album.song;
      expect(dawn).toMatchObject({
        title: 'Dawn',
        isDir: false,
        isVideo: false,
        track: 1,
        discNumber: 1,
        year: 2001,
        suffix: 'mp3',
        contentType: 'audio/mpeg',
        path: 'Alpha Band/First Light/01 Dawn.mp3',
        albumId: album.id,
        parent: album.id,
        type: 'music',
        mediaType: 'song',
        genres: [{ name: 'Rock' }],
        isrc: [],
        replayGain: {},
        displayArtist: 'Alpha Band',
      });
      expect(dawn.duration).toBe(2);
      expect(dawn.bitRate).toBeGreaterThan(60);
      expect(dawn.bitRate).toBeLessThan(400); // kbps, not bps
      expect(typeof dawn.size).toBe('number');
      expect(dawn.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(dawn.artists).toEqual([{ id: ids.artist('Alpha Band').id, name: 'Alpha Band' }]);
      expect(noon.title).toBe('Rock & Roll <Live> "Noon"');
      // The same title survives XML escaping (the XML answer is schema-valid, checked by xml()).
      const xml = await api.xml('getAlbum', { id: album.id });
      expect(xml).toContain('title="Rock &amp; Roll &lt;Live&gt; &quot;Noon&quot;"');
    });

    it('folder browsing: artist directory lists albums as directories, album directory lists songs', async () => {
      const artist = ids.artist('Alpha Band');
      const dir = await api.json('getMusicDirectory', { id: artist.id });
      expect(dir.directory).toMatchObject({ id: artist.id, name: 'Alpha Band' });
      expect(dir.directory.child).toMatchObject([{ isDir: true, title: 'First Light', parent: artist.id }]);
      const albumDir = await api.json('getMusicDirectory', { id: dir.directory.child[0].id });
      expect(albumDir.directory.child.map((c: { title: string }) => c.title)).toEqual([
        'Dawn',
        'Rock & Roll <Live> "Noon"',
      ]);
    });

    it('genres count songs and albums; songs by genre and album lists by genre/year filter', async () => {
      const g = await api.json('getGenres');
      expect(g.genres.genre).toEqual(
        expect.arrayContaining([
          { value: 'Rock', songCount: 3, albumCount: 2 },
          { value: 'Jazz', songCount: 1, albumCount: 1 },
        ]),
      );
      const rock = await api.json('getSongsByGenre', { genre: 'rock', count: 2, offset: 1 });
      expect(rock.songsByGenre.song).toHaveLength(2);
      const byYear = await api.json('getAlbumList2', { type: 'byYear', fromYear: 2005, toYear: 1990 });
      expect(byYear.albumList2.album.map((a: { name: string }) => a.name)).toEqual(['First Light', 'Second Wind']);
      const byGenre = await api.json('getAlbumList2', { type: 'byGenre', genre: 'Jazz' });
      expect(byGenre.albumList2.album.map((a: { name: string }) => a.name)).toEqual(['Second Wind']);
      const missing = await api.raw('getAlbumList2', { type: 'byGenre', f: 'json' });
      expect(missing.json()['subsonic-response'].error.code).toBe(10);
      const bad = await api.raw('getAlbumList2', { type: 'sideways', f: 'json' });
      expect(bad.json()['subsonic-response'].error.code).toBe(0);
    });

    it('unknown ids are error 70, missing ids error 10, both with HTTP 200', async () => {
      for (const method of [
        'getAlbum',
        'getArtist',
        'getSong',
        'getMusicDirectory',
        'getArtistInfo2',
        'getAlbumInfo',
      ]) {
        const r = await api.raw(method, { id: 'nope', f: 'json' });
        expect(r.statusCode).toBe(200);
        expect(r.json()['subsonic-response']).toMatchObject({ status: 'failed', error: { code: 70 } });
        const m = await api.raw(method, { f: 'json' });
        expect(m.json()['subsonic-response'].error.code).toBe(10);
      }
      const unknown = await api.raw('frobnicate.view', { f: 'json' });
      expect(unknown.json()['subsonic-response'].error.code).toBe(70);
    });
  });

  describe('search', () => {
    it('search3 with an empty query lists the whole library in stable pages (offline sync)', async () => {
      const seen: string[] = [];
      for (let offset = 0; ; offset += 2) {
        const page = await api.json('search3', {
          query: '',
          songCount: 2,
          songOffset: offset,
          albumCount: 0,
          artistCount: 0,
        });
        const songs = page.searchResult3.song ?? [];
        seen.push(...songs.map((s: { id: string }) => s.id));
        if (songs.length < 2) break;
      }
      expect(seen).toHaveLength(4);
      expect(new Set(seen).size).toBe(4);
      const quoted = await api.json('search3', { query: '""', artistCount: 10, albumCount: 10, songCount: 10 });
      expect(quoted.searchResult3.artist).toHaveLength(3);
      expect(quoted.searchResult3.album).toHaveLength(3);
      expect(quoted.searchResult3.song).toHaveLength(4);
    });

    it('search2/search3 with a query find artists, albums and songs by prefix', async () => {
      const r = await api.json('search3', { query: 'gal' });
      expect(r.searchResult3.song.map((s: { title: string }) => s.title)).toEqual(['Gale']);
      const a = await api.json('search3', { query: 'alpha' });
      expect(a.searchResult3.artist.map((s: { name: string }) => s.name)).toEqual(['Alpha Band']);
      const s2 = await api.json('search2', { query: 'second' });
      expect(s2.searchResult2.album).toMatchObject([{ title: 'Second Wind', isDir: true }]);
      const none = await api.json('search3', { query: 'zzzzzz' });
      expect(none.searchResult3).toEqual({});
    });
  });

  describe('annotation', () => {
    it('star/unstar songs, albums and artists; getStarred2 lists them; ratings show as userRating', async () => {
      const dawn = ids.track('Dawn');
      const album = ids.album('Second Wind');
      const artist = ids.artist('The Gamma');
      await api.xml('star', { id: dawn.id, albumId: album.id, artistId: artist.id });
      const s = await api.json('getStarred2');
      expect(s.starred2.song.map((x: { id: string }) => x.id)).toEqual([dawn.id]);
      expect(s.starred2.album.map((x: { id: string }) => x.id)).toEqual([album.id]);
      expect(s.starred2.artist.map((x: { id: string }) => x.id)).toEqual([artist.id]);
      expect(s.starred2.song[0].starred).toMatch(/Z$/);
      const starredList = await api.json('getAlbumList2', { type: 'starred' });
      expect(starredList.albumList2.album.map((a: { id: string }) => a.id)).toEqual([album.id]);

      await api.xml('setRating', { id: dawn.id, rating: 4 });
      await api.xml('setRating', { id: album.id, rating: 5 });
      expect((await api.json('getSong', { id: dawn.id })).song.userRating).toBe(4);
      const highest = await api.json('getAlbumList2', { type: 'highest' });
      expect(highest.albumList2.album[0]).toMatchObject({ id: album.id, userRating: 5 });
      await api.json('setRating', { id: dawn.id, rating: 0 });
      expect((await api.json('getSong', { id: dawn.id })).song.userRating).toBeUndefined();
      const bad = await api.raw('setRating', { id: dawn.id, rating: 9, f: 'json' });
      expect(bad.json()['subsonic-response'].error.code).toBe(0);

      await api.xml('unstar', { id: dawn.id, albumId: album.id, artistId: artist.id });
      expect(await api.json('getStarred2')).toMatchObject({ starred2: {} });
      const unknown = await api.raw('star', { id: 'nope', f: 'json' });
      expect(unknown.json()['subsonic-response'].error.code).toBe(70);
    });

    it('scrobble submission=false is now playing; submission=true counts a play (recent/frequent lists)', async () => {
      const gale = ids.track('Gale');
      await api.xml('scrobble', { id: gale.id, submission: 'false' });
      const now = await api.json('getNowPlaying');
      expect(now.nowPlaying.entry).toMatchObject([
        { id: gale.id, username: 'alice', playerName: 'vitest', minutesAgo: 0 },
      ]);
      expect((await api.json('getSong', { id: gale.id })).song.playCount).toBe(0);
      await api.xml('scrobble', { id: [gale.id, gale.id] });
      const song = (await api.json('getSong', { id: gale.id })).song;
      expect(song.playCount).toBe(2);
      expect(song.played).toMatch(/Z$/);
      const recent = await api.json('getAlbumList2', { type: 'recent' });
      expect(recent.albumList2.album.map((a: { name: string }) => a.name)).toEqual(['Second Wind']);
      const frequent = await api.json('getAlbumList', { type: 'frequent' });
      expect(frequent.albumList.album.map((a: { title: string }) => a.title)).toEqual(['Second Wind']);
      const top = await api.json('getTopSongs', { id: ids.artist('Beta Trio').id, count: 1 });
      expect(top.topSongs.song.map((s: { id: string }) => s.id)).toEqual([gale.id]);
    });
  });
});
