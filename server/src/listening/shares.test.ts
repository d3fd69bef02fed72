import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../shared/ids.js';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { addAlbum, addLocalTrack, type TrackFixture } from '../test/streaming.js';
import { escapeHtml } from './shares.page.js';
import { forEachServerEngine } from '../test/engines.js';

const XSS_TITLE = '<img src=x onerror=alert(1)>';
const XSS_ARTIST = '"><svg onload=alert(2)>';

forEachServerEngine(() => {
  describe('share links', () => {
    let t: TestServer;
    let alice: TestUser;
    let bob: TestUser;
    let aliceH: Record<string, string>;
    let bobH: Record<string, string>;
    let evil: TrackFixture;
    let albumId: string;
    let albumTrack: TrackFixture;
    let outsider: TrackFixture;
    const clock = {
      ms: Date.now(),
      now() {
        return this.ms;
      },
    };

    async function addPlaylist(ownerId: string, name: string, isPublic: 0 | 1, trackIds: string[]): Promise<string> {
      const id = newId();
      const now = Date.now();
      await t.earshot.database.db
        .insertInto('playlists')
        .values({ id, owner_id: ownerId, name, is_public: isPublic, created_at: now, updated_at: now })
        .execute();
      for (const [i, trackId] of trackIds.entries()) {
        await t.earshot.database.db
          .insertInto('playlist_tracks')
          .values({
            id: newId(),
            playlist_id: id,
            position: i,
            track_id: trackId,
            title: 'x',
            artist: null,
            album: null,
            duration: null,
            added_at: now,
          })
          .execute();
      }
      return id;
    }

    const share = async (h: Record<string, string>, payload: Record<string, unknown>) =>
      t.app.inject({ method: 'POST', url: '/api/v1/shares', headers: h, payload });

    beforeAll(async () => {
      t = await startTestServer({ clock });
      alice = await t.createUser({ username: 'alice' });
      bob = await t.createUser({ username: 'bob' });
      aliceH = await t.authHeaders(alice);
      bobH = await t.authHeaders(bob);
      evil = await addLocalTrack(
        t.earshot,
        'x/evil.mp3',
        { seconds: 2 },
        { title: XSS_TITLE, artist: XSS_ARTIST, album: '&amp; <b>' },
      );
      albumId = await addAlbum(t.earshot, 'Album <i>One</i>');
      albumTrack = await addLocalTrack(t.earshot, 'a/01.mp3', { seconds: 1 }, { title: 'First', albumId });
      outsider = await addLocalTrack(t.earshot, 'b/02.mp3', { seconds: 1 }, { title: 'Elsewhere' });
    });
    afterAll(() => t.close());

    it('a track share: public page with a player, OpenGraph tags and every text escaped (SECURITY.md 14)', async () => {
      const created = await share(aliceH, { kind: 'track', id: evil.id, ownerId: bob.id });
      expect(created.statusCode).toBe(201);
      const s = created.json();
      expect(s).toMatchObject({ kind: 'track', itemId: evil.id, title: XSS_TITLE, expired: false, viewCount: 0 });
      expect(s.url).toBe(`/share/${s.token}`);
      expect(s.expiresAt - clock.now()).toBe(30 * 86_400_000);
      // Mass assignment: the share is still alice's.
      expect(
        (await t.app.inject({ url: '/api/v1/shares', headers: aliceH })).json().items.map((x: { id: string }) => x.id),
      ).toContain(s.id);

      const page = await t.app.inject({ url: s.url });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
      const html = page.body;
      expect(html).not.toContain('<img src=x');
      expect(html).not.toContain('<svg onload');
      expect(html).not.toContain('"><svg');
      // One script only: the page's own file (local dates), never anything from the data.
      expect(html.match(/<script/g)).toEqual(['<script']);
      expect(html).toContain('<script src="/share-page.js" defer></script>');
      expect(html).toContain(`<meta property="og:title" content="${escapeHtml(XSS_TITLE)}">`);
      expect(html).toContain('<meta property="og:type" content="music.song">');
      expect(html).toContain(`<meta property="og:image" content="/share/${s.token}/cover?size=600">`);
      expect(html).toContain(`<meta property="og:audio" content="/share/${s.token}/stream/${evil.id}">`);
      expect(html).toContain(`<audio controls preload="none" src="/share/${s.token}/stream/${evil.id}">`);
      expect(html).toContain(escapeHtml(XSS_ARTIST));
      expect(html).toContain('&#38;amp; &#60;b&#62;'); // entity-encoded input stays literal text

      const stream = await t.app.inject({
        url: `/share/${s.token}/stream/${evil.id}`,
        headers: { range: 'bytes=0-99' },
      });
      expect(stream.statusCode).toBe(206);
      expect(stream.rawPayload.length).toBe(100);
      expect((await t.app.inject({ url: `/share/${s.token}/stream/${outsider.id}` })).statusCode).toBe(404);

      const cover = await t.app.inject({ url: `/share/${s.token}/cover?size=64`, headers: { accept: 'image/webp' } });
      expect(cover.statusCode).toBe(200);
      expect(cover.headers['content-type']).toBe('image/webp');

      const data = await t.app.inject({ url: `/share/${s.token}/data` });
      expect(data.json()).toMatchObject({
        kind: 'track',
        title: XSS_TITLE,
        tracks: [{ id: evil.id, streamUrl: `/share/${s.token}/stream/${evil.id}` }],
      });
      expect(
        (await t.app.inject({ url: '/api/v1/shares', headers: aliceH }))
          .json()
          .items.find((x: { id: string }) => x.id === s.id).viewCount,
      ).toBe(1);
    });

    it('signed-in viewers get a deep link into the app', async () => {
      const s = (await share(aliceH, { kind: 'track', id: albumTrack.id })).json();
      const page = await t.app.inject({ url: s.url, headers: bobH });
      expect(page.body).toContain(`href="/?track=${albumTrack.id}"`);
      expect((await t.app.inject({ url: s.url })).body).not.toContain('/?track=');
    });

    it('an album share streams its tracks only', async () => {
      const s = (await share(aliceH, { kind: 'album', id: albumId })).json();
      const page = await t.app.inject({ url: s.url });
      expect(page.body).toContain('<meta property="og:type" content="music.album">');
      expect(page.body).toContain('Album &#60;i&#62;One&#60;/i&#62;');
      expect((await t.app.inject({ url: `/share/${s.token}/stream/${albumTrack.id}` })).statusCode).toBe(200);
      expect((await t.app.inject({ url: `/share/${s.token}/stream/${outsider.id}` })).statusCode).toBe(404);
    });

    it('playlists: own private and anyone’s public ones can be shared, not another user’s private one (SECURITY.md 12)', async () => {
      const bobsPrivate = await addPlaylist(bob.id, 'Bob secret', 0, [outsider.id]);
      const bobsPublic = await addPlaylist(bob.id, 'Bob public', 1, [outsider.id, albumTrack.id]);
      const alicesPrivate = await addPlaylist(alice.id, 'Mine', 0, [albumTrack.id]);
      expect((await share(aliceH, { kind: 'playlist', id: bobsPrivate })).statusCode).toBe(404);
      expect((await share(aliceH, { kind: 'playlist', id: alicesPrivate })).statusCode).toBe(201);
      const s = (await share(aliceH, { kind: 'playlist', id: bobsPublic })).json();
      const page = await t.app.inject({ url: s.url });
      expect(page.body).toContain('<meta property="og:type" content="music.playlist">');
      expect(page.body).toContain('Playlist by bob');
      expect((await t.app.inject({ url: `/share/${s.token}/stream/${outsider.id}` })).statusCode).toBe(200);
      expect((await t.app.inject({ url: `/share/${s.token}/stream/${evil.id}` })).statusCode).toBe(404);
      // The playlist disappears: so does the share.
      await t.earshot.database.db.deleteFrom('playlists').where('id', '=', bobsPublic).execute();
      expect((await t.app.inject({ url: s.url })).statusCode).toBe(410);
    });

    it('unknown items and bad expiries are refused', async () => {
      expect((await share(aliceH, { kind: 'track', id: 'nosuchtrack' })).statusCode).toBe(404);
      expect((await share(aliceH, { kind: 'artist', id: evil.id })).statusCode).toBe(400);
      expect((await share(aliceH, { kind: 'track', id: evil.id, expiresInDays: 0 })).statusCode).toBe(400);
      expect((await share(aliceH, { kind: 'track', id: evil.id, expiresInDays: 99999 })).statusCode).toBe(400);
      expect((await share(aliceH, { kind: 'track', id: '../../etc/passwd' })).statusCode).toBe(400);
      const forever = await share(aliceH, { kind: 'track', id: evil.id, expiresInDays: null });
      expect(forever.json().expiresAt).toBeNull();
      expect((await share({}, { kind: 'track', id: evil.id })).statusCode).toBe(401);
    });

    it('expiry kills the page, data, cover and stream (SECURITY.md 26)', async () => {
      const s = (await share(aliceH, { kind: 'track', id: evil.id, expiresInDays: 1 })).json();
      expect((await t.app.inject({ url: s.url })).statusCode).toBe(200);
      const saved = clock.ms;
      clock.ms = s.expiresAt + 1;
      try {
        for (const url of [s.url, `${s.url}/data`, `${s.url}/cover`, `${s.url}/stream/${evil.id}`]) {
          const res = await t.app.inject({ url, headers: { range: 'bytes=0-9' } });
          expect(res.statusCode).toBe(410);
          expect(res.headers['content-type']).not.toMatch(/^audio/);
        }
        const listed = (await t.app.inject({ url: '/api/v1/shares', headers: aliceH })).json().items;
        expect(listed.find((x: { id: string }) => x.id === s.id).expired).toBe(true);
      } finally {
        clock.ms = saved;
      }
    });

    it('revocation kills page and stream; other users cannot see or revoke it (SECURITY.md 12, 26)', async () => {
      const s = (await share(aliceH, { kind: 'track', id: evil.id })).json();
      expect((await t.app.inject({ url: '/api/v1/shares', headers: bobH })).json().items).toEqual([]);
      expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/shares/${s.id}`, headers: bobH })).statusCode).toBe(
        404,
      );
      expect((await t.app.inject({ url: `${s.url}/stream/${evil.id}` })).statusCode).toBe(200);

      expect(
        (await t.app.inject({ method: 'DELETE', url: `/api/v1/shares/${s.id}`, headers: aliceH })).statusCode,
      ).toBe(204);
      expect((await t.app.inject({ url: s.url })).statusCode).toBe(410);
      expect((await t.app.inject({ url: `${s.url}/stream/${evil.id}` })).statusCode).toBe(410);
      expect(
        (await t.app.inject({ method: 'DELETE', url: `/api/v1/shares/${s.id}`, headers: aliceH })).statusCode,
      ).toBe(404);
      const mine = (await t.app.inject({ url: '/api/v1/shares', headers: aliceH })).json().items;
      expect(mine.map((x: { id: string }) => x.id)).not.toContain(s.id);
    });

    it('a share of a playlist dies when it stops being visible to its creator, and its owner sees and revokes it (issue 13.1)', async () => {
      const alicesList = await addPlaylist(alice.id, 'Alice road trip', 1, [outsider.id]);
      const s = (await share(bobH, { kind: 'playlist', id: alicesList })).json();
      expect(s).toMatchObject({ createdBy: 'bob', isMine: true });
      const urls = [s.url, `${s.url}/data`, `${s.url}/cover`, `${s.url}/stream/${outsider.id}`];
      for (const url of urls) expect((await t.app.inject({ url })).statusCode, url).toBe(200);

      // Alice makes it private and keeps adding tracks: Bob's link shows nothing any more.
      await t.earshot.database.db
        .updateTable('playlists')
        .set({ is_public: 0, name: 'Alice secret' })
        .where('id', '=', alicesList)
        .execute();
      for (const url of urls) {
        const res = await t.app.inject({ url });
        expect(res.statusCode, url).toBe(410);
        expect(res.body).not.toContain('Alice secret');
      }
      // Alice sees Bob's link to her playlist (made by bob, not hers) and can revoke it; Bob's list flags it as his.
      const alicesView = (await t.app.inject({ url: '/api/v1/shares', headers: aliceH })).json().items;
      expect(alicesView.find((x: { id: string }) => x.id === s.id)).toMatchObject({ createdBy: 'bob', isMine: false });
      // Public again: the link works again (the owner chose to show it), until the owner revokes it.
      await t.earshot.database.db.updateTable('playlists').set({ is_public: 1 }).where('id', '=', alicesList).execute();
      expect((await t.app.inject({ url: `${s.url}/data` })).statusCode).toBe(200);
      expect(
        (await t.app.inject({ method: 'DELETE', url: `/api/v1/shares/${s.id}`, headers: aliceH })).statusCode,
      ).toBe(204);
      for (const url of urls) expect((await t.app.inject({ url })).statusCode, url).toBe(410);
      // Bob cannot revoke a share of Alice's playlist that Alice made.
      const alicesOwn = (await share(aliceH, { kind: 'playlist', id: alicesList })).json();
      expect(
        (await t.app.inject({ method: 'DELETE', url: `/api/v1/shares/${alicesOwn.id}`, headers: bobH })).statusCode,
      ).toBe(404);
      const bobsView = (await t.app.inject({ url: '/api/v1/shares', headers: bobH })).json().items;
      expect(bobsView.map((x: { id: string }) => x.id)).not.toContain(alicesOwn.id);
    });

    it('track and album shares: administrators (the library owners) see and revoke them; a disabled creator’s links die', async () => {
      const root = await t.createUser({ username: 'root', role: 'admin' });
      const rootH = await t.authHeaders(root);
      const carol = await t.createUser({ username: 'carol' });
      const carolH = await t.authHeaders(carol);
      const trackShare = (await share(carolH, { kind: 'track', id: outsider.id })).json();
      const albumShare = (await share(carolH, { kind: 'album', id: albumId })).json();
      const listed = (await t.app.inject({ url: '/api/v1/shares', headers: rootH })).json().items;
      expect(listed.find((x: { id: string }) => x.id === trackShare.id)).toMatchObject({
        createdBy: 'carol',
        isMine: false,
      });
      expect(listed.find((x: { id: string }) => x.id === albumShare.id)).toMatchObject({
        kind: 'album',
        isMine: false,
      });
      // Another non-admin sees neither.
      const bobsView = (await t.app.inject({ url: '/api/v1/shares', headers: bobH })).json().items;
      expect(bobsView.map((x: { id: string }) => x.id)).not.toContain(trackShare.id);
      expect(
        (await t.app.inject({ method: 'DELETE', url: `/api/v1/shares/${trackShare.id}`, headers: rootH })).statusCode,
      ).toBe(204);
      expect((await t.app.inject({ url: `${trackShare.url}/stream/${outsider.id}` })).statusCode).toBe(410);

      // Carol's account is disabled: nothing she shared is visible to her any more, so nothing is shown.
      expect((await t.app.inject({ url: `${albumShare.url}/stream/${albumTrack.id}` })).statusCode).toBe(200);
      await t.earshot.database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', carol.id).execute();
      for (const url of [albumShare.url, `${albumShare.url}/data`, `${albumShare.url}/stream/${albumTrack.id}`]) {
        expect((await t.app.inject({ url })).statusCode, url).toBe(410);
      }
    });

    it('forged or malformed tokens → 404/400', async () => {
      const s = (await share(aliceH, { kind: 'track', id: evil.id })).json();
      const [id, sig] = s.token.split('.');
      const forged = `${id}.${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
      expect((await t.app.inject({ url: `/share/${forged}` })).statusCode).toBe(404);
      expect((await t.app.inject({ url: `/share/${forged}/stream/${evil.id}` })).statusCode).toBe(404);
      for (const bad of [id, '..%2F..%2Fetc%2Fpasswd', `${id}.%00`, `${newId()}.${sig}`]) {
        expect([400, 404]).toContain((await t.app.inject({ url: `/share/${bad}` })).statusCode);
      }
    });
  });
});
