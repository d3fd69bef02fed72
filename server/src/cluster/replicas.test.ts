/**
 * Two real server processes (the built CLI) on one PostgreSQL database and one data folder:
 * a session made on A works on B, a sign-out on A is refused on B, failed sign-ins on A throttle
 * B, exactly one replica leads, and `kill -9` of the leader hands the lead to the other. Then, with
 * real yt-dlp against a loopback origin (test/origin.ts): a playlist written on one replica is read
 * on the other; concurrent plays of one uncached remote track through both make one download;
 * `kill -9` of a replica mid-download leaves no file under a final name and the other replica
 * completes the track on the next play; `kill -9` of the leader moves the scan (the folder
 * watcher) to the other within 10 s.
 *
 * Skipped, with the reason printed, when the test run has no PostgreSQL (test/postgres.ts).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { makeAudio } from '../test/audio.js';
import { type Origin, startOrigin } from '../test/origin.js';
import { createTestDatabase } from '../test/postgres.js';
import { type Replica, ReplicaSet } from '../test/replica-process.js';

const context = { url: inject('pgUrl'), skipReason: inject('pgSkipReason') };

const database = await createTestDatabase(context, 'replicas');
const data = mkdtempSync(join(tmpdir(), 'earshot-replicas-'));
const replicas = database ? new ReplicaSet(data, database.url) : null;
let origin: Origin | undefined;
afterAll(async () => {
  replicas?.killAll();
  await origin?.close();
  await database?.drop();
  rmSync(data, { recursive: true, force: true });
});

function startReplica(name: string, extraEnv: Record<string, string> = {}): Promise<Replica> {
  if (!replicas) throw new Error('no PostgreSQL');
  return replicas.start(name, extraEnv);
}

const role = async (r: Replica) => ((await (await fetch(`${r.url}/healthz`)).json()) as { role: string }).role;

/** Polls two servers' /healthz until exactly `wanted` leads (the hand-over is asynchronous). */
async function untilLeader(wanted: Replica, other?: Replica): Promise<void> {
  for (;;) {
    if ((await role(wanted)) === 'leader' && (!other || (await role(other)) === 'follower')) return;
    await new Promise((r) => setImmediate(r));
  }
}

describe.skipIf(!database)('two server processes on one PostgreSQL', () => {
  it('share sessions, throttling and the leader; kill -9 of the leader hands over', async () => {
    replicas?.addUser('alice', 'alice-password-1');
    replicas?.addUser('erin', 'erin-password-1');
    const a = await startReplica('replica-a');
    const b = await startReplica('replica-b');

    // Sign in on A, use the cookie on B; sign out on A, refused on B.
    const login = await fetch(`${a.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: a.url },
      body: JSON.stringify({ username: 'alice', password: 'alice-password-1' }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    expect((await fetch(`${b.url}/auth/status`, { headers: { cookie } })).status).toBe(200);
    const me = (await (await fetch(`${b.url}/api/v1/me`, { headers: { cookie } })).json()) as { username: string };
    expect(me.username).toBe('alice');
    await fetch(`${a.url}/auth/logout`, { method: 'POST', headers: { cookie, origin: a.url } });
    expect((await fetch(`${b.url}/api/v1/me`, { headers: { cookie } })).status).toBe(401);

    // Five wrong passwords on A: B refuses the sixth attempt for that account.
    for (let i = 0; i < 5; i++) {
      const bad = await fetch(`${a.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: a.url },
        body: JSON.stringify({ username: 'alice', password: `wrong-${i}` }),
      });
      expect(bad.status).toBe(401);
    }
    let throttled = 0;
    while (throttled !== 429) {
      throttled = (
        await fetch(`${b.url}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: b.url },
          body: JSON.stringify({ username: 'alice', password: 'wrong-again' }),
        })
      ).status;
      expect([401, 429]).toContain(throttled);
    }

    // Exactly one leads; kill -9 it and the other takes over. The survivor answers a signed-in
    // user throughout: before, during and after the kill and the hand-over.
    const [leader, follower] = (await role(a)) === 'leader' ? [a, b] : [b, a];
    expect(await role(follower)).toBe('follower');
    const erinLogin = await fetch(`${follower.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: follower.url },
      body: JSON.stringify({ username: 'erin', password: 'erin-password-1' }),
    });
    expect(erinLogin.status).toBe(200);
    const erin = (erinLogin.headers.get('set-cookie') ?? '').split(';')[0];
    let handedOver = false;
    const answers: number[] = [];
    const asking = (async () => {
      while (!handedOver) {
        const r = await fetch(`${follower.url}/api/v1/me`, { headers: { cookie: erin } });
        answers.push(r.status);
        await r.arrayBuffer();
      }
    })();
    while (answers.length === 0) await new Promise((r) => setImmediate(r));
    leader.child.kill('SIGKILL');
    await untilLeader(follower);
    handedOver = true;
    await asking;
    expect(answers.length).toBeGreaterThan(1);
    expect(answers.filter((status) => status !== 200)).toEqual([]);
  });

  it('share playlists and remote downloads; kill -9 mid-download and of the scanning leader', async () => {
    replicas?.killAll(); // the first test's replicas
    origin = await startOrigin();
    const song = readFileSync(
      await makeAudio(join(data, 'fixtures', 'remote.mp3'), { seconds: 4, tags: { title: 'Remote' } }),
    );
    const songPath = join(data, 'fixtures', 'remote.mp3');
    const env = {
      EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES: '1',
      EARSHOT_YTDLP: '/usr/bin/yt-dlp',
      EARSHOT_WATCH: 'true',
    };
    // Alice is throttled by the first test (shared counters): Bob signs in here.
    replicas?.addUser('bob', 'bob-password-12');
    const c = await startReplica('replica-c', env);
    const d = await startReplica('replica-d', env);
    const login = await fetch(`${c.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: c.url },
      body: JSON.stringify({ username: 'bob', password: 'bob-password-12' }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    const send = (r: Replica, method: string, path: string, body?: unknown) =>
      fetch(`${r.url}${path}`, {
        method,
        headers: { cookie, origin: r.url, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });

    // A playlist written on C is read on D.
    const list = await send(c, 'POST', '/api/v1/playlists', { name: 'Written on C' });
    expect(list.status).toBe(201);
    const listId = ((await list.json()) as { id: string }).id;
    expect(((await (await send(d, 'GET', `/api/v1/playlists/${listId}`)).json()) as { name: string }).name).toBe(
      'Written on C',
    );

    const addRemote = async (path: string, chunk: number, everyMs: number) => {
      const url = origin?.set(path, { kind: 'slow', path: songPath, chunk, everyMs });
      const res = await send(c, 'POST', '/api/v1/remote/tracks', { url });
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: string }).id;
    };
    const finalFiles = () => {
      const dir = join(data, 'cache', 'url');
      if (!existsSync(dir)) return [];
      return readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name));
    };

    // Concurrent plays of one uncached remote track through both replicas: one origin download.
    const shared = await addRemote('/shared.mp3', 8192, 15);
    const hitsBefore = origin.hits('/shared.mp3');
    const bodies = await Promise.all(
      [c, d].map(async (r) => {
        const res = await send(r, 'GET', `/stream/${shared}`);
        expect(res.status).toBe(200);
        return Buffer.from(await res.arrayBuffer());
      }),
    );
    for (const body of bodies) expect(body.equals(song)).toBe(true);
    // yt-dlp's generic extractor asks twice per download (probe, then the audio): one download.
    expect(origin.hits('/shared.mp3') - hitsBefore).toBeLessThanOrEqual(2);
    const afterShared = finalFiles();
    expect(afterShared.filter((f) => f.endsWith('.part'))).toEqual([]);

    // kill -9 of the replica downloading a track: no file under a final name; D completes it.
    const doomed = await addRemote('/doomed.mp3', 2048, 40);
    const first = await send(c, 'GET', `/stream/${doomed}`);
    expect(first.status).toBe(200);
    const reader = first.body?.getReader();
    await reader?.read(); // C is downloading (and holds the track's lock)
    c.child.kill('SIGKILL');
    await reader?.cancel().catch(() => {});
    expect(finalFiles().filter((f) => !f.endsWith('.part'))).toEqual(afterShared);
    const next = await send(d, 'GET', `/stream/${doomed}`);
    expect(next.status).toBe(200);
    expect(Buffer.from(await next.arrayBuffer()).equals(song)).toBe(true);
    let finals = finalFiles();
    while (finals.length === afterShared.length || finals.some((f) => f.endsWith('.part'))) {
      // The commit (fsync, rename) finishes just after the last byte was served.
      await new Promise((r) => setImmediate(r));
      finals = finalFiles();
    }
    expect(finals.length).toBe(afterShared.length + 1);

    // kill -9 of the scanning leader: the other replica leads (and watches the folder) within 10 s.
    // D leads once C's lock is gone (C may or may not have been the leader); only then does E
    // start, so E joins as a follower instead of racing D for the free lock.
    await untilLeader(d);
    const e = await startReplica('replica-e', env);
    await untilLeader(d, e);
    const killedAt = Date.now();
    d.child.kill('SIGKILL');
    await untilLeader(e);
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    const status = async () => (await (await send(e, 'GET', '/api/v1/library/status')).json()) as { tracks: number };
    const before = (await status()).tracks;
    await makeAudio(join(data, 'library', 'After Handover', '01 - New.mp3'), { seconds: 1, tags: { title: 'New' } });
    while ((await status()).tracks === before) await new Promise((r) => setImmediate(r));
    expect((await status()).tracks).toBe(before + 1);
  }, 120_000);
});
