/**
 * Real sockets: concurrency caps, a disconnect killing ffmpeg, stalled readers dropped, and file
 * descriptors back to baseline after many aborted streams (SECURITY.md 23, 24).
 *
 * SQLite only, on purpose: the subject is sockets, ffmpeg children and descriptors, not the
 * database (which only finds the track and the session, as in stream.test.ts, which runs on both
 * engines). On PostgreSQL the pool opens and idles out its own sockets, so the descriptor counts
 * here would measure the pool rather than the streams.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/harness.js';
import { addLocalTrack, insertTrackRow, type TrackFixture } from '../test/streaming.js';

const run = promisify(execFile);

/** ffmpeg processes whose parent is this process (read from /proc, not from our own registry). */
function ffmpegChildren(): number {
  let n = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && comm === 'ffmpeg') n += 1;
    } catch {
      // process exited while we looked
    }
  }
  return n;
}

const openFds = () => readdirSync('/proc/self/fd').length;

/** Re-checks `condition` whenever the event loop has run (a condition wait, not a fixed sleep). */
async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Open {
  req: ClientRequest;
  res: IncomingMessage;
  socket: Socket;
}

/** Starts a GET, resolves once the response headers arrived; the body is left paused. */
function openStream(base: string, path: string, headers: Record<string, string>): Promise<Open> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers, agent: false }, (res) => {
      res.pause();
      resolve({ req, res, socket: req.socket as Socket });
    });
    req.on('error', reject);
    req.end();
  });
}

async function fetchJson(base: string, path: string, headers: Record<string, string>) {
  const o = await openStream(base, path, headers);
  o.res.resume();
  const chunks: Buffer[] = [];
  o.res.on('data', (c) => chunks.push(c));
  await once(o.res, 'end');
  return { status: o.res.statusCode ?? 0, headers: o.res.headers, body: Buffer.concat(chunks).toString('utf8') };
}

interface Setup {
  t: TestServer;
  base: string;
  alice: Record<string, string>;
  bob: Record<string, string>;
  carol: Record<string, string>;
  long: TrackFixture;
  short: TrackFixture;
}

async function setup(env: Record<string, string>): Promise<Setup> {
  const t = await startTestServer({ env });
  const base = await t.listen();
  const alice = await t.authHeaders(await t.createUser({ username: 'alice' }));
  const bob = await t.authHeaders(await t.createUser({ username: 'bob' }));
  const carol = await t.authHeaders(await t.createUser({ username: 'carol' }));
  // 20 minutes of 16 kHz PCM (38 MB): larger than every socket buffer between us and the server.
  const longFile = join(t.earshot.paths.musicDir, 'long.wav');
  await run('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=220:sample_rate=16000:duration=1200',
    '-ac',
    '1',
    '-c:a',
    'pcm_s16le',
    longFile,
  ]);
  const long = await insertTrackRow(t.earshot, longFile, { duration: 1200 });
  const short = await addLocalTrack(t.earshot, 'short.flac', { seconds: 2 });
  return { t, base, alice, bob, carol, long, short };
}

describe('transcode caps and disconnects over real sockets (SECURITY.md 24)', () => {
  let t: TestServer;
  let base: string;
  let alice: Record<string, string>;
  let bob: Record<string, string>;
  let carol: Record<string, string>;
  let long: TrackFixture;
  let short: TrackFixture;

  beforeAll(async () => {
    ({ t, base, alice, bob, carol, long, short } = await setup({
      EARSHOT_TRANSCODE_MAX: '2',
      EARSHOT_TRANSCODE_MAX_PER_USER: '1',
    }));
  });
  afterAll(() => t.close());

  it('caps transcodes per user and globally (503 + Retry-After), and a disconnect kills ffmpeg at once', async () => {
    const baseline = ffmpegChildren();
    const transcoder = t.earshot.streaming.transcoder;
    // mp3 at 320 kbps of a 20-minute track: ~48 MB, so a paused client keeps its ffmpeg blocked.
    const path = `/stream/${long.id}?format=mp3&maxBitRate=320`;
    const a = await openStream(base, path, alice);
    expect(a.res.statusCode).toBe(200);

    const perUser = await fetchJson(base, path, alice);
    expect(perUser.status).toBe(503);
    expect(Number(perUser.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(perUser.body).detail).toMatch(/You already have 1/);

    const b = await openStream(base, path, bob);
    expect(b.res.statusCode).toBe(200);
    const global = await fetchJson(base, path, carol);
    expect(global.status).toBe(503);
    expect(JSON.parse(global.body).detail).toMatch(/as many streams as it can/);
    expect(ffmpegChildren()).toBe(baseline + 2);

    // Alice closes her player: her ffmpeg dies, and her slot goes to the next request.
    const exited = once(transcoder, 'settled');
    a.socket.destroy();
    await exited;
    expect(ffmpegChildren()).toBe(baseline + 1);
    const c = await openStream(base, `/stream/${short.id}?format=opus`, carol);
    expect(c.res.statusCode).toBe(200);
    c.res.resume();
    await once(c.res, 'end');

    b.socket.destroy();
    await transcoder.whenIdle();
    expect(transcoder.running).toBe(0);
    expect(ffmpegChildren()).toBe(baseline);
  });

  it('a queued request is served when a slot frees within the wait', async () => {
    const path = `/stream/${long.id}?format=mp3&maxBitRate=256`;
    const a = await openStream(base, path, alice);
    const waiting = fetchJson(base, `/stream/${short.id}?format=opus&maxBitRate=48`, alice);
    await until(() => t.earshot.streaming.limiter.waiting === 1, 'the second request to queue');
    a.socket.destroy();
    const served = await waiting;
    expect(served.status).toBe(200);
    await t.earshot.streaming.transcoder.whenIdle();
  });
});

describe('stalled readers and descriptor hygiene (SECURITY.md 23)', () => {
  let t: TestServer;
  let base: string;
  let alice: Record<string, string>;
  let bob: Record<string, string>;
  let long: TrackFixture;
  let short: TrackFixture;
  const serverSockets: Socket[] = [];

  beforeAll(async () => {
    ({ t, base, alice, bob, long, short } = await setup({ EARSHOT_STREAM_IDLE_TIMEOUT_MS: '1000' }));
    t.app.server.on('connection', (s: Socket) => serverSockets.push(s));
  });
  afterAll(() => t.close());

  it('a client that stops reading is dropped by the server (raw and transcoded)', async () => {
    for (const path of [`/stream/${long.id}`, `/stream/${long.id}?format=mp3&maxBitRate=320`]) {
      const o = await openStream(base, path, alice);
      expect(o.res.statusCode).toBe(200);
      // The client never reads the body: the server side of this connection must close by itself.
      const mine = serverSockets.find((s) => s.remotePort === o.socket.localPort);
      expect(mine).toBeDefined();
      if (!mine!.destroyed) await once(mine!, 'close');
      expect(mine!.bytesWritten).toBeLessThan(long.size);
      o.socket.destroy();
    }
    await t.earshot.streaming.transcoder.whenIdle();
    expect(t.earshot.streaming.transcoder.running).toBe(0);
  });

  it('200 idle keep-alive sockets are closed by the server', async () => {
    const before = serverSockets.length;
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 200 });
    await Promise.all(
      Array.from(
        { length: 200 },
        () =>
          new Promise<void>((resolve, reject) => {
            const req = request(`${base}/stream/${short.id}`, { method: 'HEAD', agent, headers: alice }, (res) => {
              res.resume();
              res.on('end', resolve);
            });
            req.on('error', reject);
            req.end();
          }),
      ),
    );
    const opened = serverSockets.slice(before);
    expect(opened.length).toBe(200);
    // Nobody sends anything more: the keep-alive timeout must close every one of them.
    await Promise.all(opened.map((s) => (s.destroyed ? undefined : once(s, 'close'))));
    agent.destroy();
  });

  it('file descriptors and ffmpeg children return to baseline after many aborted streams', async () => {
    const warm = await openStream(base, `/stream/${short.id}`, alice);
    warm.res.resume();
    await once(warm.res, 'end');
    await t.earshot.streaming.transcoder.whenIdle();
    const fdBaseline = openFds();
    const ffBaseline = ffmpegChildren();

    for (let round = 0; round < 5; round++) {
      const opened = await Promise.all([
        ...Array.from({ length: 30 }, (_, i) =>
          openStream(base, `/stream/${long.id}`, { ...alice, range: `bytes=${i * 1000}-` }),
        ),
        openStream(base, `/stream/${long.id}?format=opus&timeOffset=${round}`, bob),
      ]);
      for (const o of opened) {
        expect([200, 206]).toContain(o.res.statusCode);
        o.socket.destroy();
      }
    }
    await t.earshot.streaming.transcoder.whenIdle();
    await until(() => openFds() <= fdBaseline, `fds back to ${fdBaseline} (now ${openFds()})`);
    expect(ffmpegChildren()).toBe(ffBaseline);
  });
});

describe('shutdown', () => {
  it('kills running ffmpeg children and cuts streams after the deadline', async () => {
    const s = await setup({ EARSHOT_SHUTDOWN_TIMEOUT_MS: '300' });
    const baseline = ffmpegChildren();
    const o = await openStream(s.base, `/stream/${s.long.id}?format=mp3&maxBitRate=320`, s.alice);
    expect(o.res.statusCode).toBe(200);
    expect(ffmpegChildren()).toBe(baseline + 1);
    o.socket.on('error', () => undefined);
    await s.t.close();
    expect(s.t.earshot.streaming.transcoder.running).toBe(0);
    await until(() => ffmpegChildren() === baseline, 'ffmpeg to be reaped');
    o.socket.destroy();
  });
});
