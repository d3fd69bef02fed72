/**
 * The whole app on PostgreSQL over HTTP: the real Fastify app with EARSHOT_DATABASE_URL on a fresh
 * database of the run's throwaway cluster (`startTestServer({ databaseUrl })`). Sign up and in,
 * a playlist, a like, play history, a share link and its public page and stream, a local track
 * streamed with Range, and Subsonic ping/getPlaylists — each answer read back from PostgreSQL.
 * Skipped, with the reason printed, when the test run has no PostgreSQL (test/postgres.ts).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestServer, type TestServer } from './test/harness.js';
import { createTestDatabase } from './test/postgres.js';
import { addLocalTrack, type TrackFixture } from './test/streaming.js';
import { restCaller } from './test/subsonic/client.js';

const context = { url: inject('pgUrl'), skipReason: inject('pgSkipReason') };
const database = await createTestDatabase(context, 'app');

describe.skipIf(!database)('the app on PostgreSQL over HTTP', () => {
  let t: TestServer;
  let track: TrackFixture;
  let cookie: string;
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    t = await startTestServer({ databaseUrl: database?.url, env: { EARSHOT_REGISTRATION: 'open' } });
    // An administrator exists (open registration still wants one to own the server).
    await t.createUser({ username: 'root', role: 'admin' });
    track = await addLocalTrack(t.earshot, 'PG Artist/PG Album/01 - Served.mp3', { seconds: 3 }, { title: 'Served' });
  });
  afterAll(async () => {
    await t?.close();
    await database?.drop();
  });

  it('really runs on PostgreSQL; readiness checks the database and its migrations there', async () => {
    expect(t.earshot.database.engine).toBe('postgres');
    expect(t.earshot.cluster.mode).toBe('replicas');
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode, ready.body).toBe(200);
    expect(ready.json()).toMatchObject({
      status: 'ready',
      checks: [
        { name: 'database', ok: true },
        { name: 'migrations', ok: true },
      ],
    });
  });

  it('sign up, sign in, and the session works', async () => {
    const signup = await t.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { username: 'Paula', password: 'long enough pw' },
    });
    expect(signup.statusCode, signup.body).toBe(201);
    const login = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: json,
      payload: { username: 'paula', password: 'long enough pw' },
    });
    expect(login.statusCode, login.body).toBe(200);
    cookie = String(login.headers['set-cookie']).split(';')[0];
    const me = await t.app.inject({ url: '/api/v1/me', headers: { cookie } });
    expect(me.json()).toMatchObject({ username: 'Paula' });
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: json,
      payload: { username: 'paula', password: 'not the password' },
    });
    expect(wrong.statusCode).toBe(401);
  });

  it('a playlist, a like and play history are stored and read back', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/playlists',
      headers: { cookie },
      payload: { name: 'On Postgres' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    const added = await t.app.inject({
      method: 'POST',
      url: `/api/v1/playlists/${id}/tracks`,
      headers: { cookie },
      payload: { trackIds: [track.id, track.id] },
    });
    expect(added.statusCode, added.body).toBe(200);
    const got = (await t.app.inject({ url: `/api/v1/playlists/${id}`, headers: { cookie } })).json();
    expect(got.name).toBe('On Postgres');
    expect(JSON.stringify(got)).toContain(track.id);

    expect(
      (await t.app.inject({ method: 'PUT', url: `/api/v1/likes/track/${track.id}`, headers: { cookie } })).statusCode,
    ).toBeLessThan(300);
    const likes = (await t.app.inject({ url: '/api/v1/likes/tracks', headers: { cookie } })).json();
    expect(likes.total).toBe(1);

    const play = await t.app.inject({
      method: 'POST',
      url: '/api/v1/plays',
      headers: { cookie },
      payload: { trackId: track.id, secondsPlayed: 3 },
    });
    expect(play.json()).toEqual({ counted: true });
    const history = (await t.app.inject({ url: '/api/v1/history', headers: { cookie } })).json();
    expect(history.total).toBe(1);
    expect(history.items[0].track).toMatchObject({ id: track.id, title: 'Served', liked: true });
  });

  it('a local track streams with Range; a share link serves its page and stream', async () => {
    const bytes = readFileSync(track.path);
    const whole = await t.app.inject({ url: `/stream/${track.id}`, headers: { cookie } });
    expect(whole.statusCode).toBe(200);
    expect(whole.rawPayload.equals(bytes)).toBe(true);
    const part = await t.app.inject({ url: `/stream/${track.id}`, headers: { cookie, range: 'bytes=10-109' } });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 10-109/${bytes.length}`);
    expect(part.rawPayload.equals(bytes.subarray(10, 110))).toBe(true);

    const share = await t.app.inject({
      method: 'POST',
      url: '/api/v1/shares',
      headers: { cookie },
      payload: { kind: 'track', id: track.id },
    });
    expect(share.statusCode, share.body).toBe(201);
    const s = share.json();
    expect((await t.app.inject({ url: s.url })).statusCode).toBe(200);
    const shared = await t.app.inject({
      url: `/share/${s.token}/stream/${track.id}`,
      headers: { range: 'bytes=0-99' },
    });
    expect(shared.statusCode).toBe(206);
    expect(shared.rawPayload.equals(bytes.subarray(0, 100))).toBe(true);
  });

  it('Subsonic: ping and getPlaylists with an API key', async () => {
    const paula = await t.earshot.database.db
      .selectFrom('users')
      .select('id')
      .where('username_key', '=', 'paula')
      .executeTakeFirstOrThrow();
    const key = await t.earshot.accounts.subsonic.createApiKey(paula.id, 'pg test');
    const api = restCaller(t, { apiKey: key.key });
    expect((await api.json('ping.view')).status).toBe('ok');
    const lists = await api.json('getPlaylists.view');
    expect(lists.status).toBe('ok');
    expect(lists.playlists.playlist.map((p: { name: string }) => p.name)).toEqual(['On Postgres']);
    expect(await api.xml('getPlaylists.view')).toContain('name="On Postgres"');
  });
});
