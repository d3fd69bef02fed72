import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../test/accounts.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { playCounts } from './activity.service.js';
import { insertAlbum, insertArtist, insertTrack } from '../test/catalog-rows.js';
import { LikedFlagsRepository } from './liked-flags.repository.js';
import { forEachServerEngine } from '../test/engines.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const DAY = 24 * 3600 * 1000;
type Headers = Record<string, string>;
const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, headers: Headers, payload?: object) =>
  t!.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

async function setup(clock?: ManualClock) {
  t = await startTestServer({ clock });
  const alice = await t.createUser({ username: 'alice' });
  const bob = await t.createUser({ username: 'bob' });
  return { alice, bob, a: await t.authHeaders(alice), b: await t.authHeaders(bob), db: t.earshot.database.db };
}

forEachServerEngine(() => {
  describe('likes', () => {
    it('likes and unlikes tracks, albums and artists; lists carry liked=true; flags are per user', async () => {
      const { a, b, alice, bob, db } = await setup();
      const artist = await insertArtist(db, 'Band');
      const album = await insertAlbum(db, 'Debut', 'Band', artist);
      const track = await insertTrack(db, { title: 'Hit', artist: 'Band', albumId: album, artistId: artist });
      const other = await insertTrack(db, { title: 'B-side', artist: 'Band' });

      for (const [type, id] of [
        ['track', track],
        ['album', album],
        ['artist', artist],
      ] as const) {
        expect((await call('PUT', `/api/v1/likes/${type}/${id}`, a)).statusCode).toBe(204);
        expect((await call('PUT', `/api/v1/likes/${type}/${id}`, a)).statusCode).toBe(204); // idempotent
      }
      expect((await call('PUT', '/api/v1/likes/track/doesnotexist', a)).statusCode).toBe(404);
      expect((await call('PUT', `/api/v1/likes/album/${track}`, a)).statusCode).toBe(404);
      expect((await call('PUT', `/api/v1/likes/playlist/${track}`, a)).statusCode).toBe(400);

      const tracks = (await call('GET', '/api/v1/likes/tracks', a)).json();
      expect(tracks).toMatchObject({
        total: 1,
        limit: 50,
        offset: 0,
        items: [{ id: track, title: 'Hit', liked: true }],
      });
      expect((await call('GET', '/api/v1/likes/albums', a)).json().items).toMatchObject([
        { id: album, name: 'Debut', liked: true },
      ]);
      expect((await call('GET', '/api/v1/likes/artists', a)).json().items).toMatchObject([
        { id: artist, name: 'Band', liked: true },
      ]);

      // Bob sees none of Alice's likes, in lists or flags.
      expect((await call('GET', '/api/v1/likes/tracks', b)).json()).toMatchObject({ total: 0, items: [] });
      expect(await new LikedFlagsRepository(db).likedIds(bob.id, 'track', [track, other])).toEqual(new Set());
      expect(await new LikedFlagsRepository(db).likedIds(alice.id, 'track', [track, other])).toEqual(new Set([track]));

      // The liked flag shows up in other responses, e.g. playlist entries.
      const p = (await call('POST', '/api/v1/playlists', a, { name: 'P', isPublic: true })).json();
      await call('POST', `/api/v1/playlists/${p.id}/tracks`, a, { trackIds: [track, other] });
      const mine = (await call('GET', `/api/v1/playlists/${p.id}`, a))
        .json()
        .entries.map((e: { track: { liked: boolean } }) => e.track.liked);
      const his = (await call('GET', `/api/v1/playlists/${p.id}`, b))
        .json()
        .entries.map((e: { track: { liked: boolean } }) => e.track.liked);
      expect(mine).toEqual([true, false]);
      expect(his).toEqual([false, false]);

      expect((await call('DELETE', `/api/v1/likes/track/${track}`, a)).statusCode).toBe(204);
      expect((await call('GET', '/api/v1/likes/tracks', a)).json().total).toBe(0);
      expect((await t!.app.inject({ url: '/api/v1/likes/tracks' })).statusCode).toBe(401);
    });

    it('pages liked tracks newest first', async () => {
      const clock = new ManualClock();
      const { a, db } = await setup(clock);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(await insertTrack(db, { title: `T${i}` }));
        await call('PUT', `/api/v1/likes/track/${ids[i]}`, a);
        clock.advance(1000);
      }
      const page = (await call('GET', '/api/v1/likes/tracks?limit=2&offset=1', a)).json();
      expect(page.total).toBe(5);
      expect(page.items.map((x: { title: string }) => x.title)).toEqual(['T3', 'T2']);
      expect((await call('GET', '/api/v1/likes/tracks?limit=0', a)).statusCode).toBe(400);
    });
  });

  describe('plays, history and discovery', () => {
    it('counts a play at ≥ 50% of the duration or ≥ 4 minutes (Last.fm rule)', async () => {
      expect(playCounts(99, 200)).toBe(false);
      expect(playCounts(100, 200)).toBe(true);
      expect(playCounts(239, 1200)).toBe(false);
      expect(playCounts(240, 1200)).toBe(true);
      expect(playCounts(200, null)).toBe(false);
      expect(playCounts(240, null)).toBe(true);

      const { a, alice, db } = await setup();
      const short = await insertTrack(db, { title: 'Short', duration: 200 });
      const long = await insertTrack(db, { title: 'Long', duration: 1200 });
      const play = (trackId: string, secondsPlayed: number) =>
        call('POST', '/api/v1/plays', a, { trackId, secondsPlayed });
      expect((await play(short, 99)).json()).toEqual({ counted: false });
      expect((await play(short, 100)).json()).toEqual({ counted: true });
      expect((await play(long, 239)).json()).toEqual({ counted: false });
      expect((await play(long, 240)).json()).toEqual({ counted: true });
      expect((await play(long, 300)).json()).toEqual({ counted: true });
      expect((await play('missingtrack', 300)).statusCode).toBe(404);
      expect((await play(long, -1)).statusCode).toBe(400);

      const activity = await db
        .selectFrom('user_activity')
        .selectAll()
        .where('user_id', '=', alice.id)
        .where('item_type', '=', 'track')
        .execute();
      const counts = Object.fromEntries(activity.map((r) => [r.item_id, r.play_count]));
      expect(counts).toEqual({ [short]: 1, [long]: 2 });
      expect(activity.every((r) => r.last_played !== null)).toBe(true);
      const plays = await db.selectFrom('plays').selectAll().where('user_id', '=', alice.id).execute();
      expect(plays).toHaveLength(3);
    });

    it('history is per user and paged; discovery lists use the clock', async () => {
      const clock = new ManualClock();
      const { a, b, db } = await setup(clock);
      const now = clock.now();
      const old = await insertTrack(db, { title: 'Old', duration: 100, addedAt: now - 60 * DAY });
      const fresh = await insertTrack(db, { title: 'Fresh', duration: 100, addedAt: now - DAY });
      const mid = await insertTrack(db, { title: 'Mid', duration: 100, addedAt: now - 10 * DAY });
      const play = (trackId: string) => call('POST', '/api/v1/plays', a, { trackId, secondsPlayed: 100 });

      // 20 days ago: "Old" three times (counts for the month, not the week).
      clock.advance(-20 * DAY);
      for (let i = 0; i < 3; i++) await play(old);
      clock.advance(20 * DAY - 2 * DAY);
      // 2 days ago: "Mid" twice, "Fresh" once.
      await play(mid);
      await play(mid);
      clock.advance(DAY);
      await play(fresh);
      clock.advance(DAY);
      await call('PUT', `/api/v1/likes/track/${mid}`, a);

      const history = (await call('GET', '/api/v1/history?limit=2', a)).json();
      expect(history.total).toBe(6);
      expect(history.items.map((h: { track: { title: string } }) => h.track.title)).toEqual(['Fresh', 'Mid']);
      expect(history.items[1].track.liked).toBe(true);
      expect((await call('GET', '/api/v1/history', b)).json()).toMatchObject({ total: 0, items: [] });

      const d = (await call('GET', '/api/v1/discover', a)).json();
      const titles = (list: { title: string }[]) => list.map((x) => x.title);
      expect(titles(d.recentlyAdded)).toEqual(['Fresh', 'Mid', 'Old']);
      expect(
        d.mostPlayedWeek.map((x: { plays: number; track: { title: string } }) => [x.track.title, x.plays]),
      ).toEqual([
        ['Mid', 2],
        ['Fresh', 1],
      ]);
      expect(d.mostPlayedMonth.map((x: { track: { title: string } }) => x.track.title)).toEqual([
        'Old',
        'Mid',
        'Fresh',
      ]);
      expect(titles(d.recentlyPlayed)).toEqual(['Fresh', 'Mid', 'Old']);
      expect(titles(d.liked)).toEqual(['Mid']);
      expect(d.recentlyAdded.find((x: { id: string }) => x.id === mid).liked).toBe(true);
      expect(d.mostPlayedWeek[0].track.liked).toBe(true);

      // Bob's discovery has the shared "recently added" but nothing personal of Alice's.
      const db2 = (await call('GET', '/api/v1/discover', b)).json();
      expect(titles(db2.recentlyAdded)).toEqual(['Fresh', 'Mid', 'Old']);
      expect(db2).toMatchObject({ mostPlayedWeek: [], mostPlayedMonth: [], recentlyPlayed: [], liked: [] });
      expect(db2.recentlyAdded.every((x: { liked: boolean }) => !x.liked)).toBe(true);

      // A deleted track stays in the history as null.
      await db.deleteFrom('tracks').where('id', '=', fresh).execute();
      expect((await call('GET', '/api/v1/history?limit=1', a)).json().items[0].track).toBeNull();
    });
  });

  describe('tracks removed from the catalog', () => {
    it('drop their likes and counters for every user when the library reports them removed', async () => {
      const { a, b, alice, db } = await setup();
      const gone = await insertTrack(db, { title: 'Gone' });
      const kept = await insertTrack(db, { title: 'Kept' });
      for (const h of [a, b]) {
        await call('PUT', `/api/v1/likes/track/${gone}`, h);
        await call('PUT', `/api/v1/likes/track/${kept}`, h);
      }
      await call('POST', '/api/v1/plays', a, { trackId: gone, secondsPlayed: 200 });
      await db.deleteFrom('tracks').where('id', '=', gone).execute();
      t!.earshot.events.emit('library.tracksRemoved', { trackIds: [gone] });
      // The listener runs asynchronously; wait until its delete is visible.
      await vi.waitFor(async () => {
        const left = await db.selectFrom('user_activity').select('item_id').where('item_type', '=', 'track').execute();
        expect(left.map((r) => r.item_id)).toEqual([kept, kept]);
      });
      const history = (await call('GET', '/api/v1/history', a)).json();
      expect(history.items).toMatchObject([{ track: null }]);
      expect(alice.id).toBeTruthy();
    });
  });
});
