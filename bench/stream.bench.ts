/**
 * Streaming benchmark: `npm run bench:stream` (options: --clients 50 --rounds 10 --port 0).
 *
 * Builds a temporary library (a 3-minute MP3 and a 60-second noise FLAC), starts a real Earshot in
 * a child process (so the load generator does not share its event loop), and prints:
 *  - direct streams: throughput and time-to-first-byte p50/p99 with N concurrent clients;
 *  - transcode: time to the first audio bytes of an uncached Opus transcode;
 *  - ffmpeg CPU per real-time Opus 128 kbps stream (children's CPU time / audio seconds, read from
 *    /proc/<server pid>/stat cutime+cstime).
 * Targets (issue 5): direct TTFB p99 ≤ 20 ms at 50 clients; transcode first bytes ≤ 300 ms.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

interface ServerInfo {
  base: string;
  cookie: string;
  directId: string;
  directSize: number;
  noiseId: string;
  noiseSeconds: number;
  pid: number;
}

// ── child: the server under test ──
async function serve(): Promise<void> {
  const { loadConfig } = await import('../server/src/config/load.js');
  const { createEarshot } = await import('../server/src/main.js');
  const { newId } = await import('../server/src/shared/ids.js');
  const { insertTrackRow, makeNoiseAudio } = await import('../server/src/test/streaming.js');
  const { makeAudio } = await import('../server/src/test/audio.js');
  const dir = mkdtempSync(join(tmpdir(), 'earshot-bench-stream-'));
  const { config } = loadConfig({
    env: {
      EARSHOT_DATA_DIR: dir,
      EARSHOT_PORT: String(arg('port', 0)),
      EARSHOT_LOG_LEVEL: 'error',
      EARSHOT_SCAN_ON_START: 'false',
      EARSHOT_WATCH: 'false',
      EARSHOT_FULL_SCAN_INTERVAL_MINUTES: '0',
    },
    argv: [],
    envFile: null,
    cwd: dir,
  });
  const earshot = await createEarshot(config, { background: false });
  const userId = newId();
  const now = Date.now();
  await earshot.database.db
    .insertInto('users')
    .values({
      id: userId,
      username: 'bench',
      username_key: 'bench',
      password_hash: null,
      role: 'admin',
      email: null,
      display_name: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  const session = await earshot.sessions.create(userId, { userAgent: 'bench' });
  const direct = join(config.musicDir, 'Bench/Album/01 - Direct.mp3');
  await makeAudio(direct, { seconds: 180 });
  const directRow = await insertTrackRow(earshot, direct, { duration: 180, bitrate: 128 });
  const noise = await makeNoiseAudio(join(config.musicDir, 'Bench/Album/02 - Noise.flac'), 60);
  const noiseRow = await insertTrackRow(earshot, noise, { duration: 60, bitrate: 900 });
  const address = await earshot.listen();
  const info: ServerInfo = {
    base: address,
    cookie: `earshot_session=${session.cookieValue}`,
    directId: directRow.id,
    directSize: directRow.size,
    noiseId: noiseRow.id,
    noiseSeconds: 60,
    pid: process.pid,
  };
  process.stdout.write(`BENCH-SERVER ${JSON.stringify(info)}\n`);
  const stop = async () => {
    await earshot.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop); // parent gone
  process.stdin.resume();
}

// ── parent: the load generator ──
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function get(
  info: ServerInfo,
  path: string,
  agent: Agent,
  range?: string,
): Promise<{ ttfbMs: number; bytes: number; status: number }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let ttfb = -1;
    let bytes = 0;
    const headers: Record<string, string> = { cookie: info.cookie };
    if (range) headers.range = range;
    const req = request(`${info.base}${path}`, { agent, headers }, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (ttfb < 0) ttfb = Number(process.hrtime.bigint() - start) / 1e6;
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ ttfbMs: ttfb, bytes, status: res.statusCode ?? 0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** utime+stime and cutime+cstime (seconds) of a process, from /proc. */
function cpuOf(pid: number): { self: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  // fields[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17 → indexes 11..14.
  return {
    self: (Number(fields[11]) + Number(fields[12])) / hz,
    children: (Number(fields[13]) + Number(fields[14])) / hz,
  };
}

async function main(): Promise<void> {
  const clients = arg('clients', 50);
  const rounds = arg('rounds', 10);
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    // The server's own log lines share stdout; ours is tagged.
    rl.on('line', (l) => {
      if (l.startsWith('BENCH-SERVER ')) resolve(l.slice(13));
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
  const info = JSON.parse(line) as ServerInfo;
  try {
    console.log(`Earshot stream bench — server pid ${info.pid} at ${info.base}`);
    console.log(
      `library: direct MP3 ${(info.directSize / 1e6).toFixed(2)} MB (180 s), noise FLAC ${info.noiseSeconds} s\n`,
    );

    // Warm-up (JIT, page cache, first session lookup).
    const warm = new Agent({ keepAlive: true, maxSockets: clients });
    await Promise.all(Array.from({ length: clients }, () => get(info, `/stream/${info.directId}`, warm)));

    // 1a. Time to first byte with 50 listeners streaming at once. Each client behaves like a
    // buffering player: 256 KiB Range requests at random offsets (start, seeks, progressive
    // loading), paced at 512 KiB/s (≈ 32× real time for a 128 kbps file) — busy, not a flood.
    const agent = new Agent({ keepAlive: true, maxSockets: clients });
    const chunk = 256 * 1024;
    const paceMs = 500;
    const ttfbs: number[] = [];
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const r0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        // Stagger the starts over one pacing period, as real listeners do.
        await new Promise((r) => setTimeout(r, (c * paceMs) / clients));
        for (let r = 0; r < rounds * 2; r++) {
          const began = Date.now();
          const start = Math.floor(rand() * (info.directSize - chunk));
          const res = await get(info, `/stream/${info.directId}`, agent, `bytes=${start}-${start + chunk - 1}`);
          if (res.status !== 206) throw new Error(`range request answered ${res.status}`);
          ttfbs.push(res.ttfbMs);
          const wait = paceMs - (Date.now() - began);
          if (wait > 0) await new Promise((res) => setTimeout(res, wait));
        }
      }),
    );
    const rangeSeconds = Number(process.hrtime.bigint() - r0) / 1e9;
    ttfbs.sort((a, b) => a - b);
    console.log(
      `direct streams, time to first byte: ${clients} concurrent clients × ${rounds * 2} Range requests of 256 KiB, paced at 512 KiB/s each`,
    );
    console.log(`  TTFB p50       ${percentile(ttfbs, 50).toFixed(2)} ms`);
    console.log(`  TTFB p99       ${percentile(ttfbs, 99).toFixed(2)} ms   (target ≤ 20 ms)`);
    console.log(
      `  TTFB max       ${ttfbs[ttfbs.length - 1].toFixed(2)} ms   (${(ttfbs.length / rangeSeconds).toFixed(0)} req/s)\n`,
    );

    // 1b. Throughput: every client downloads the whole file as fast as it can (loopback, so the
    // load generator competes with the server for the same 2 cores).
    const full: number[] = [];
    let bytes = 0;
    const cpu0 = cpuOf(info.pid);
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let r = 0; r < rounds; r++) {
          const res = await get(info, `/stream/${info.directId}`, agent);
          if (res.status !== 200) throw new Error(`direct stream answered ${res.status}`);
          full.push(res.ttfbMs);
          bytes += res.bytes;
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu1 = cpuOf(info.pid);
    full.sort((a, b) => a - b);
    console.log(`direct streams, throughput: ${clients} concurrent clients × ${rounds} full-file downloads`);
    console.log(
      `  throughput     ${((bytes * 8) / seconds / 1e6).toFixed(0)} Mbit/s (${(bytes / seconds / 1e6).toFixed(1)} MB/s, ${(full.length / seconds).toFixed(0)} files/s)`,
    );
    console.log(
      `  TTFB p50/p99   ${percentile(full, 50).toFixed(2)} / ${percentile(full, 99).toFixed(2)} ms while saturated`,
    );
    console.log(`  server CPU     ${(((cpu1.self - cpu0.self) / seconds) * 100).toFixed(0)}% of one core\n`);

    // 2. Transcode time-to-first-byte (uncached: a non-zero offset is never cached).
    const single = new Agent({ keepAlive: true, maxSockets: 1 });
    const tc: number[] = [];
    for (let i = 1; i <= 10; i++) {
      const res = await get(info, `/stream/${info.noiseId}?format=opus&maxBitRate=128&timeOffset=${i}`, single);
      if (res.status !== 200) throw new Error(`transcode answered ${res.status}`);
      tc.push(res.ttfbMs);
    }
    tc.sort((a, b) => a - b);
    console.log('transcode (Opus 128 kbps, FLAC source, 10 sequential uncached requests)');
    console.log(
      `  first bytes p50 ${percentile(tc, 50).toFixed(1)} ms, max ${tc[tc.length - 1].toFixed(1)} ms   (target ≤ 300 ms)\n`,
    );

    // 3. ffmpeg CPU per real-time Opus stream: whole-track transcodes, children's CPU / audio time.
    const before = cpuOf(info.pid).children;
    const runs = 3;
    for (let i = 0; i < runs; i++) {
      await get(info, `/stream/${info.noiseId}?format=opus&maxBitRate=128&timeOffset=0.00${i + 1}`, single);
    }
    const cpuSeconds = cpuOf(info.pid).children - before;
    const audioSeconds = runs * (info.noiseSeconds - 0.002);
    const perStream = cpuSeconds / audioSeconds;
    console.log('ffmpeg CPU per real-time Opus 128 kbps stream (44.1 kHz stereo FLAC source)');
    console.log(
      `  ${(perStream * 100).toFixed(2)}% of one core  (${cpuSeconds.toFixed(2)} CPU s for ${audioSeconds.toFixed(0)} s of audio)`,
    );
    console.log(`  ≈ ${Math.floor(1 / perStream)} real-time streams per core`);
  } finally {
    child.kill('SIGTERM');
  }
}

if (process.argv.includes('--serve')) await serve();
else await main();
