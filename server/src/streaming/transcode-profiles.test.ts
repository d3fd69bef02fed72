import { describe, expect, it } from 'vitest';
import { Unavailable } from '../shared/errors.js';
import { TranscodeLimiter } from './transcode-limiter.js';
import { clampBitrate, ffmpegArgs, parseStreamQuery } from './transcode-profiles.js';

describe('parseStreamQuery', () => {
  it('accepts the allow-listed values', () => {
    expect(parseStreamQuery({ format: 'OPUS', maxBitRate: '96', timeOffset: '12.5' })).toEqual({
      format: 'opus',
      maxBitRate: 96,
      timeOffset: 12.5,
    });
    expect(parseStreamQuery({ format: 'raw' })).toEqual({ format: 'raw', timeOffset: 0 });
    expect(parseStreamQuery({})).toEqual({ timeOffset: 0 });
  });

  it.each([
    [{ format: 'mp3;rm -rf /' }, 'format'],
    [{ format: 'flac' }, 'format'],
    [{ format: '-f' }, 'format'],
    [{ maxBitRate: '-1' }, 'maxBitRate'],
    [{ maxBitRate: '1e3' }, 'maxBitRate'],
    [{ maxBitRate: '9999999' }, 'maxBitRate'],
    [{ timeOffset: 'abc' }, 'timeOffset'],
    [{ timeOffset: '1;ls' }, 'timeOffset'],
    [{ timeOffset: 'NaN' }, 'timeOffset'],
  ])('%o → 400 on %s', (query, field) => {
    expect(() => parseStreamQuery(query)).toThrowError(expect.objectContaining({ status: 400, details: { field } }));
  });

  it('clamps bitrates to each format range; 0 means the default', () => {
    expect(clampBitrate('opus', 1)).toBe(24);
    expect(clampBitrate('opus', 100000)).toBe(256);
    expect(clampBitrate('mp3', 0)).toBe(192);
    expect(clampBitrate('aac', undefined)).toBe(160);
  });
});

describe('ffmpegArgs', () => {
  it('is a fixed argument list: audio only, no metadata, the input as a file: URL', () => {
    const args = ffmpegArgs('/music/-rf x;$(id).flac', { format: 'mp3', kbps: 128, offset: 30 });
    expect(args).toEqual([
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-ss',
      '30.000',
      '-i',
      'file:/music/-rf x;$(id).flac',
      '-map',
      '0:a:0',
      '-vn',
      '-sn',
      '-dn',
      '-map_metadata',
      '-1',
      '-c:a',
      'libmp3lame',
      '-b:a',
      '128k',
      '-f',
      'mp3',
      '-write_xing',
      '0',
      'pipe:1',
    ]);
    expect(ffmpegArgs('/a.flac', { format: 'opus', kbps: 96, offset: 0 })).not.toContain('-ss');
  });
});

describe('TranscodeLimiter', () => {
  it('enforces global and per-key caps, queues briefly, hands freed slots to waiters', async () => {
    const limiter = new TranscodeLimiter(2, 1, 50);
    const a = await limiter.acquire('alice');
    await expect(limiter.acquire('alice')).rejects.toBeInstanceOf(Unavailable);
    const b = await limiter.acquire('bob');
    const err = await limiter.acquire('carol').catch((e: Unavailable) => e);
    expect(err).toBeInstanceOf(Unavailable);
    expect((err as Unavailable).headers).toEqual({ 'retry-after': '5' });
    const waiting = limiter.acquire('carol');
    expect(limiter.waiting).toBe(1);
    a.release();
    const c = await waiting;
    expect(limiter.active).toBe(2);
    b.release();
    c.release();
    c.release(); // idempotent
    expect(limiter.active).toBe(0);
  });

  it('drops a waiter whose client went away', async () => {
    const limiter = new TranscodeLimiter(1, 1, 10_000);
    const slot = await limiter.acquire('a');
    const abort = new AbortController();
    const waiting = limiter.acquire('b', abort.signal);
    abort.abort();
    await expect(waiting).rejects.toBeInstanceOf(Unavailable);
    expect(limiter.waiting).toBe(0);
    slot.release();
    expect(limiter.active).toBe(0);
  });
});
