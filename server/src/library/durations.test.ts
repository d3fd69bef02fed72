/**
 * Duration rules (durations.ts, mpeg-duration.ts) on real ffmpeg files: the value (within 1 s of
 * ffprobe's) and the cost — which reads each rule makes besides the 256 KiB head.
 */
import { openSync, readFileSync, readSync, statSync, writeFileSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ffprobeDuration, type RealisticKind, realisticFile } from '../test/realistic.js';
import { mediaDuration } from './durations.js';
import { readTrack } from './tag-worker.js';

const HEAD = 256 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'earshot-durations-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** mediaDuration over a file, recording every read it makes beyond the head. */
function measure(path: string, container?: string) {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  const reads: { offset: number; length: number }[] = [];
  const read = (offset: number, length: number) => {
    reads.push({ offset, length });
    const buf = Buffer.alloc(length);
    return buf.subarray(0, readSync(fd, buf, 0, length, offset));
  };
  try {
    const head = Buffer.alloc(Math.min(size, HEAD));
    readSync(fd, head, 0, head.length, 0);
    const result = mediaDuration({ size, head, read, container });
    return { ...result, reads, size, bytesRead: reads.reduce((n, r) => n + r.length, 0) };
  } finally {
    closeSync(fd);
  }
}

const file = (kind: RealisticKind, seconds: number, extra: { leadingSilence?: number } = {}) =>
  realisticFile(kind, { seconds, frequency: 700, tags: { title: `Durations ${kind}` }, ...extra });

describe('Ogg: last page of the tail', () => {
  it.each([
    ['ogg-vorbis', 301],
    ['opus', 287],
    ['ogg-flac', 193],
  ] as const)('%s: one read of at most 128 KiB at the end, within 1 s of ffprobe', async (kind, seconds) => {
    const path = await file(kind, seconds);
    const m = measure(path);
    expect(Math.abs((m.seconds ?? 0) - (await ffprobeDuration(path)))).toBeLessThan(1);
    expect(m.reads).toHaveLength(1);
    expect(m.reads[0].length).toBeLessThanOrEqual(128 * 1024);
    expect(m.reads[0].offset + m.reads[0].length).toBe(m.size);
  });

  it('a file cut short ends at its last complete page, like ffprobe says', async () => {
    const whole = readFileSync(await file('ogg-vorbis', 301));
    const cut = join(dir, 'cut.ogg');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const m = measure(cut);
    expect(m.seconds).toBeGreaterThan(100);
    expect(m.seconds).toBeLessThan(250);
    expect(Math.abs((m.seconds ?? 0) - (await ffprobeDuration(cut)))).toBeLessThan(1);
  });

  it('no valid page in the tail: unknown duration, still a track', async () => {
    const whole = readFileSync(await file('opus', 287));
    // 150 KiB of junk after the audio, with "OggS" in it that is not a page (bad CRC).
    const junk = Buffer.alloc(150 * 1024, 0x5a);
    for (let at = 1000; at < junk.length - 100; at += 20_000) junk.write('OggS\0\0', at, 'latin1');
    const path = join(dir, 'junk-tail.opus');
    writeFileSync(path, Buffer.concat([whole, junk]));
    expect(measure(path).seconds).toBeNull();
    const read = await readTrack({ id: 1, abs: path, rel: 'junk-tail.opus', size: statSync(path).size, lrc: null }, []);
    expect(read).toMatchObject({ ok: true, tags: { title: 'Durations opus', duration: null, codec: 'Opus' } });
  });
});

describe('MP3: Xing/Info header, constant bitrate, frame count', () => {
  it('Xing (VBR) and Info (CBR) headers: no read but 160 bytes at the end (ID3v1/APE)', async () => {
    for (const kind of ['mp3-vbr', 'mp3-cbr'] as const) {
      const path = await file(kind, 244);
      const m = measure(path, 'MPEG');
      expect(Math.abs((m.seconds ?? 0) - (await ffprobeDuration(path))), kind).toBeLessThan(1);
      expect(m.bytesRead, kind).toBeLessThanOrEqual(160);
    }
  });

  it('constant bitrate without an Info header: 7 samples of 4 KiB confirm it', async () => {
    const path = await file('mp3-cbr-noinfo', 244);
    const m = measure(path, 'MPEG');
    expect(Math.abs((m.seconds ?? 0) - (await ffprobeDuration(path)))).toBeLessThan(1);
    expect(m.reads.length).toBe(8);
    expect(m.bytesRead).toBeLessThanOrEqual(160 + 7 * 4096);
  });

  it('VBR without a Xing header: frames counted (ffprobe itself only estimates those)', async () => {
    const path = await file('mp3-vbr-noxing', 244);
    const m = measure(path, 'MPEG');
    const truth = await ffprobeDuration(path, { packets: true });
    expect(Math.abs((m.seconds ?? 0) - truth)).toBeLessThan(1);
    expect(m.bytesRead).toBeLessThan(m.size + 64 * 1024);
  });

  it('VBR without a Xing header that starts with 30 s of silence (one bitrate at first) is not taken for CBR', async () => {
    const path = await file('mp3-vbr-noxing', 200, { leadingSilence: 30 });
    const m = measure(path, 'MPEG');
    const truth = await ffprobeDuration(path, { packets: true });
    expect(truth).toBeGreaterThan(229);
    expect(Math.abs((m.seconds ?? 0) - truth)).toBeLessThan(1);
    // What a guess from the first frames' bitrate gives (ffprobe's own figure) is far off.
    expect(Math.abs((await ffprobeDuration(path)) - truth)).toBeGreaterThan(5);
  });
});

describe('header formats: the value music-metadata read from the header is kept', () => {
  it.each([
    ['flac', 'FLAC'],
    ['wav', 'WAVE'],
    ['m4a-aac-moov-end', 'MPEG-4'],
  ] as const)('%s', async (kind, container) => {
    const path = await file(kind, 200);
    expect(measure(path, container)).toMatchObject({ seconds: null, reads: [] });
    const read = await readTrack({ id: 1, abs: path, rel: `x.${kind}`, size: statSync(path).size, lrc: null }, []);
    expect(read.ok).toBe(true);
    if (read.ok) expect(Math.abs((read.tags.duration ?? 0) - (await ffprobeDuration(path)))).toBeLessThan(1);
  });
});
