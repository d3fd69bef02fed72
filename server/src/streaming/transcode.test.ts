import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachServerEngine } from '../test/engines.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { decodeErrors, ffprobe, insertTrackRow, makeNoiseAudio, type TrackFixture } from '../test/streaming.js';

/*
 * Transcoding through the real app and real ffmpeg, on both engines (the track, its duration and
 * bitrate and the user's stream preferences come from the database). The checks of what ffmpeg
 * produced — codec, container, clean decode, bitrate within ±15 %, audible start at timeOffset —
 * run on SQLite only: they take most of this file's time (about 20 s per engine on 2 cores) and read
 * nothing from the database that the other tests do not.
 */
const run = promisify(execFile);

/** Mean volume (dB) of the first `seconds` of an audio file. */
async function meanVolume(path: string, seconds: number): Promise<number> {
  const { stderr } = await run('ffmpeg', [
    '-hide_banner',
    '-t',
    String(seconds),
    '-i',
    path,
    '-af',
    'volumedetect',
    '-f',
    'null',
    '-',
  ]);
  const m = /mean_volume:\s*(-?[\d.]+|-inf) dB/.exec(stderr);
  return !m || m[1] === '-inf' ? -120 : Number(m[1]);
}

forEachServerEngine((engine) => {
  describe('transcoding', () => {
    let t: TestServer;
    let headers: Record<string, string>;
    let noise: TrackFixture;
    let marker: TrackFixture;
    let out: string;
    const SECONDS = 20;

    beforeAll(async () => {
      t = await startTestServer();
      headers = await t.authHeaders(await t.createUser());
      out = await mkdtemp(join(tmpdir(), 'earshot-tc-'));
      const file = await makeNoiseAudio(join(t.earshot.paths.musicDir, 'Noise/noise.flac'), SECONDS);
      noise = await insertTrackRow(t.earshot, file, { duration: SECONDS, bitrate: 900 });
      // Silent for 6 s, then a loud tone: where a transcode starts is audible.
      const markerFile = join(t.earshot.paths.musicDir, 'marker.flac');
      await run('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'aevalsrc=if(gt(t\\,6)\\,0.8*sin(2*PI*440*t)\\,0):s=44100:d=10',
        '-c:a',
        'flac',
        markerFile,
      ]);
      marker = await insertTrackRow(t.earshot, markerFile, { duration: 10, bitrate: 700 });
    });
    afterAll(async () => {
      await t.close();
      await rm(out, { recursive: true, force: true });
    });

    // What ffmpeg makes of the audio does not depend on the database: SQLite only (see the header).
    const ffmpegOutput = engine === 'sqlite' ? it : it.skip;
    ffmpegOutput.each([
      ['opus', 96, 'opus', 'ogg', 'audio/ogg; codecs=opus'],
      ['opus', 160, 'opus', 'ogg', 'audio/ogg; codecs=opus'],
      ['mp3', 128, 'mp3', 'mp3', 'audio/mpeg'],
      ['aac', 128, 'aac', 'aac', 'audio/aac'],
    ])(
      'format=%s maxBitRate=%i decodes cleanly and is within ±15%% of the bitrate',
      async (format, kbps, codec, container, type) => {
        const res = await t.app.inject({ url: `/stream/${noise.id}?format=${format}&maxBitRate=${kbps}`, headers });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe(type);
        expect(res.headers['accept-ranges']).toBe('none');
        const file = join(out, `out-${format}-${kbps}`);
        await writeFile(file, res.rawPayload);
        const probe = await ffprobe(file);
        expect(probe.codec).toBe(codec);
        expect(probe.container).toBe(container);
        expect(await decodeErrors(file)).toBe('');
        const actualKbps = (res.rawPayload.length * 8) / SECONDS / 1000;
        expect(actualKbps).toBeGreaterThan(kbps * 0.85);
        expect(actualKbps).toBeLessThan(kbps * 1.15);
      },
    );

    it('clamps an out-of-range bitrate to the format maximum', async () => {
      const res = await t.app.inject({ url: `/stream/${noise.id}?format=mp3&maxBitRate=999999`, headers });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-earshot-transcode']).toBe('mp3;320kbps');
    });

    it.each([
      ['format', 'mp3;rm -rf /'],
      ['format', 'wma'],
      ['format', '../../bin/sh'],
      ['maxBitRate', '-1'],
      ['maxBitRate', 'abc'],
      ['maxBitRate', '128k'],
      ['timeOffset', 'abc'],
      ['timeOffset', '-5'],
      ['timeOffset', '1e9'],
    ])('%s=%s → 400 naming the field, no ffmpeg started (SECURITY.md 18)', async (field, value) => {
      const before = t.earshot.streaming.transcoder.started;
      const res = await t.app.inject({ url: `/stream/${noise.id}?${field}=${encodeURIComponent(value)}`, headers });
      expect(res.statusCode).toBe(400);
      expect(res.json().detail).toContain(field);
      expect(t.earshot.streaming.transcoder.started).toBe(before);
    });

    ffmpegOutput('timeOffset starts the output at that point of the track', async () => {
      const fromStart = await t.app.inject({ url: `/stream/${marker.id}?format=opus&timeOffset=2`, headers });
      const afterTone = await t.app.inject({ url: `/stream/${marker.id}?format=opus&timeOffset=6.5`, headers });
      const a = join(out, 'from-2.opus');
      const b = join(out, 'from-6.5.opus');
      await writeFile(a, fromStart.rawPayload);
      await writeFile(b, afterTone.rawPayload);
      expect(await meanVolume(a, 0.5)).toBeLessThan(-60); // still in the silent part
      expect(await meanVolume(b, 0.5)).toBeGreaterThan(-20); // the tone is there from the first packet
      expect((await ffprobe(a)).duration).toBeCloseTo(8, 0);
      expect((await ffprobe(b)).duration).toBeCloseTo(3.5, 0);
    });

    it('a completed transcode is cached and then served from disk with Range', async () => {
      const transcoder = t.earshot.streaming.transcoder;
      await transcoder.whenIdle();
      const entries = t.earshot.streaming.transcodeCache.count;
      const settled = once(transcoder, 'settled');
      const first = await t.app.inject({ url: `/stream/${noise.id}?format=opus&maxBitRate=64`, headers });
      expect(first.statusCode).toBe(200);
      const [info] = await settled;
      expect(info.cached).toBe(true);
      expect(t.earshot.streaming.transcodeCache.count).toBe(entries + 1);
      const files = await readdir(join(t.earshot.paths.cacheDir, 'transcodes'));
      expect(files.filter((f) => f.endsWith('.part'))).toEqual([]);

      const started = t.earshot.streaming.transcoder.started;
      const hit = await t.app.inject({
        url: `/stream/${noise.id}?format=opus&maxBitRate=64`,
        headers: { ...headers, range: 'bytes=0-99' },
      });
      expect(hit.statusCode).toBe(206);
      expect(hit.headers['content-type']).toBe('audio/ogg; codecs=opus');
      expect(hit.headers['content-range']).toBe(`bytes 0-99/${first.rawPayload.length}`);
      expect(hit.rawPayload.equals(first.rawPayload.subarray(0, 100))).toBe(true);
      expect(t.earshot.streaming.transcoder.started).toBe(started); // no ffmpeg for a hit
    });

    it('timeOffset transcodes are not cached', async () => {
      await t.earshot.streaming.transcoder.whenIdle();
      const settled = once(t.earshot.streaming.transcoder, 'settled');
      await t.app.inject({ url: `/stream/${noise.id}?format=mp3&maxBitRate=96&timeOffset=5`, headers });
      const [info] = await settled;
      expect(info.cached).toBe(false);
    });

    it('estimateContentLength sends a Content-Length and exactly that many bytes', async () => {
      const res = await t.app.inject({
        url: `/stream/${noise.id}?format=mp3&maxBitRate=112&estimateContentLength=true`,
        headers,
      });
      expect(res.statusCode).toBe(200);
      const length = Number(res.headers['content-length']);
      expect(length).toBeGreaterThan(SECONDS * 112 * 125 * 0.95);
      expect(res.rawPayload.length).toBe(length);
      const file = join(out, 'estimated.mp3');
      await writeFile(file, res.rawPayload);
      expect((await ffprobe(file)).codec).toBe('mp3');
    });

    it('HEAD on a transcode describes it without starting ffmpeg', async () => {
      const before = t.earshot.streaming.transcoder.started;
      const res = await t.app.inject({ method: 'HEAD', url: `/stream/${noise.id}?format=aac&maxBitRate=96`, headers });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('audio/aac');
      expect(t.earshot.streaming.transcoder.started).toBe(before);
    });

    it('off the LAN the default is Opus 128; a bitrate cap alone keeps files already below it', async () => {
      const remote = await t.app.inject({ url: `/stream/${noise.id}`, headers, remoteAddress: '203.0.113.9' });
      expect(remote.headers['x-earshot-transcode']).toBe('opus;128kbps');
      const lan = await t.app.inject({ url: `/stream/${noise.id}`, headers, remoteAddress: '192.168.1.20' });
      expect(lan.headers['content-type']).toBe('audio/flac');
      const capped = await t.app.inject({
        url: `/stream/${noise.id}?maxBitRate=2000`,
        headers,
        remoteAddress: '203.0.113.9',
      });
      expect(capped.headers['content-type']).toBe('audio/flac');
    });

    it('a file ffmpeg cannot decode → 422, not a truncated 200', async () => {
      const bad = join(t.earshot.paths.musicDir, 'bad.mp3');
      await writeFile(bad, 'this is not audio at all'.repeat(100));
      const tr = await insertTrackRow(t.earshot, bad, { duration: 3 });
      const res = await t.app.inject({ url: `/stream/${tr.id}?format=opus`, headers });
      expect(res.statusCode).toBe(422);
      expect(t.earshot.streaming.transcoder.running).toBe(0);
    });
  });
});
