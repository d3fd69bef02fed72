/**
 * Remote-sources figures (issue 6 targets), measured against a real Earshot on a real port, real
 * yt-dlp and a loopback origin serving generated audio:
 *
 *   - federated search: time to the local section while a provider hangs (target ≤ 50 ms);
 *   - first byte of a cached remote track (target ≤ 20 ms);
 *   - first byte of an uncached track from the loopback origin (target ≤ 1.5 s), with yt-dlp's own
 *     start-up measured beside it;
 *   - search start-up cost: yt-dlp `ytsearch` process vs in-process youtubei.js.
 *
 *   cd /work/main && npx tsx bench/sources.bench.ts [--runs 15]
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { RemoteMetadata, RemoteProvider } from '../server/src/sources/providers/provider.js';
import { startOrigin } from '../server/src/test/origin.js';
import { makeAudio } from '../server/src/test/audio.js';
import { startTestServer } from '../server/src/test/harness.js';

const run = (args: string[]) => promisify(execFile)('/usr/bin/yt-dlp', args).catch(() => undefined);
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 15;

function stats(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `median ${q(0.5).toFixed(1)} ms · p95 ${q(0.95).toFixed(1)} ms · min ${s[0].toFixed(1)} · max ${s.at(-1)!.toFixed(1)} (n=${s.length})`;
}

/** Time from request start to the first body byte. */
async function firstByte(url: string, headers: Record<string, string>): Promise<{ ms: number; cache: string | null }> {
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  const reader = res.body!.getReader();
  await reader.read();
  const ms = performance.now() - t0;
  while (!(await reader.read()).done);
  return { ms, cache: res.headers.get('x-earshot-cache') };
}

class HangingYouTube implements RemoteProvider {
  readonly name = 'youtube' as const;
  search(): Promise<RemoteMetadata[]> {
    return new Promise(() => {});
  }
  async resolve(): Promise<RemoteMetadata> {
    throw new Error('unused');
  }
  async playTarget(): Promise<never> {
    throw new Error('unused');
  }
}

async function main() {
  process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES = '1';
  const origin = await startOrigin();
  const t = await startTestServer({
    env: { EARSHOT_PROVIDER_TIMEOUT_MS: '3000', EARSHOT_SOURCES_SOUNDCLOUD: 'false' },
  });
  const base = await t.listen();
  const admin = await t.createUser({ username: 'bench', role: 'admin' });
  const headers = await t.authHeaders(admin);
  const song = await makeAudio(join(t.dir, 'fixtures', 'bench.mp3'), {
    seconds: 30,
    tags: { title: 'Bench Song', artist: 'Bench Artist' },
  });
  console.log(`yt-dlp ${execFileSync('/usr/bin/yt-dlp', ['--version']).toString().trim()} · node ${process.version}`);

  // ── yt-dlp start-up ──
  const ytVersion: number[] = [];
  const ytJson: number[] = [];
  const ytSearch: number[] = [];
  origin.set('/probe.mp3', { kind: 'file', path: song });
  for (let i = 0; i < Math.min(runs, 8); i++) {
    let t0 = performance.now();
    await run(['--version']);
    ytVersion.push(performance.now() - t0);
    t0 = performance.now();
    await run(['--ignore-config', '--no-playlist', '-J', '--', `${origin.base}/probe.mp3`]);
    ytJson.push(performance.now() - t0);
    // No network here: this is process start + extractor load up to the (failing) first request.
    t0 = performance.now();
    await run([
      '--ignore-config',
      '--flat-playlist',
      '-J',
      '--retries',
      '0',
      '--extractor-retries',
      '0',
      '--',
      'ytsearch5:test',
    ]);
    ytSearch.push(performance.now() - t0);
  }
  console.log(`yt-dlp --version:                         ${stats(ytVersion)}`);
  console.log(`yt-dlp -J on a loopback URL (full run):   ${stats(ytJson)}`);
  console.log(`yt-dlp ytsearch5 up to the network call:  ${stats(ytSearch)}`);
  const i0 = performance.now();
  const { Innertube } = await import('youtubei.js');
  const imported = performance.now() - i0;
  const s0 = performance.now();
  await Innertube.create({ retrieve_player: false, generate_session_locally: true });
  console.log(
    `youtubei.js: import ${imported.toFixed(0)} ms once, session ${(performance.now() - s0).toFixed(0)} ms once; then one API call per search`,
  );

  // ── federated search with a hanging provider ──
  const now = Date.now();
  for (let i = 0; i < 200; i++) {
    await t.earshot.database.db
      .insertInto('tracks')
      .values({
        id: `local${i}`,
        title: `Halo ${i}`,
        artist: 'Local Artist',
        local_path: `a/${i}.mp3`,
        added_at: now,
        updated_at: now,
      })
      .execute();
  }
  t.earshot.sources.registry.set(new HangingYouTube());
  const firstLine: number[] = [];
  const localTook: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const controller = new AbortController();
    const res = await fetch(`${base}/api/v1/search/stream?q=halo&limit=20`, { headers, signal: controller.signal });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n')) text += new TextDecoder().decode((await reader.read()).value);
    firstLine.push(performance.now() - t0);
    localTook.push(JSON.parse(text.split('\n')[0]).local.tookMs);
    controller.abort();
  }
  const whole = performance.now();
  const full = (await (await fetch(`${base}/api/v1/search?q=halo`, { headers })).json()) as {
    remote: { status: string }[];
  };
  console.log(`search/stream: local section reaches the client in ${stats(firstLine)} (YouTube hanging)`);
  console.log(
    `search: local search itself ${stats(localTook)}; whole JSON answer ${(performance.now() - whole).toFixed(0)} ms (= the 3 s provider timeout), youtube status ${full.remote[0].status}`,
  );

  // ── uncached first byte (yt-dlp start-up dominates) and cached first byte ──
  const uncached: number[] = [];
  const cachedFb: number[] = [];
  const ids: string[] = [];
  for (let i = 0; i < Math.min(runs, 8); i++) {
    const add = await t.app.inject({
      method: 'POST',
      url: '/api/v1/remote/tracks',
      headers,
      payload: { url: origin.set(`/u${i}.mp3`, { kind: 'file', path: song }) },
    });
    ids.push(add.json().id);
  }
  for (const id of ids) {
    const done = new Promise<void>((resolve) => {
      const off = t.earshot.events.on('sources.cached', (e) => {
        if (e.trackId === id) {
          off();
          resolve();
        }
      });
    });
    const r = await firstByte(`${base}/stream/${id}`, headers);
    if (r.cache !== 'miss') throw new Error('expected an uncached play');
    uncached.push(r.ms);
    await done;
  }
  for (let i = 0; i < runs; i++) {
    const r = await firstByte(`${base}/stream/${ids[i % ids.length]}`, headers);
    cachedFb.push(r.ms);
  }
  console.log(`uncached remote track, first byte:        ${stats(uncached)}`);
  console.log(`cached remote track, first byte:          ${stats(cachedFb)}`);

  await t.close();
  await origin.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
