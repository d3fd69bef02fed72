import { forEachServerEngine } from '../test/engines.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { addLocalTrack, type TrackFixture } from '../test/streaming.js';
import { ifRangeMatches, parseRange, validatorsFor } from './range.js';

forEachServerEngine(() => {
  describe('parseRange', () => {
    const size = 1000;
    it.each([
      ['bytes=0-99', { kind: 'partial', start: 0, end: 99 }],
      ['bytes=100-', { kind: 'partial', start: 100, end: 999 }],
      ['bytes=-100', { kind: 'partial', start: 900, end: 999 }],
      ['bytes=-5000', { kind: 'partial', start: 0, end: 999 }],
      ['bytes=990-5000', { kind: 'partial', start: 990, end: 999 }],
      ['bytes=999-999', { kind: 'partial', start: 999, end: 999 }],
      ['bytes=1000-', { kind: 'unsatisfiable' }],
      ['bytes=999999999-', { kind: 'unsatisfiable' }],
      ['bytes=-0', { kind: 'unsatisfiable' }],
      ['bytes=5-1', { kind: 'full' }],
      ['bytes=0-1,5-9', { kind: 'full' }],
      ['bytes=-', { kind: 'full' }],
      ['bytes=abc', { kind: 'full' }],
      ['items=0-5', { kind: 'full' }],
      ['garbage', { kind: 'full' }],
      ['', { kind: 'full' }],
      [`bytes=${Array(200).fill('0-').join(',')}`, { kind: 'full' }],
    ])('%s', (header, expected) => {
      expect(parseRange(header, size)).toEqual(expected);
    });

    it('an empty file satisfies no range', () => {
      expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
      expect(parseRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' });
    });

    it('If-Range matches only the strong ETag or the exact date', () => {
      const v = validatorsFor(1000, 1_700_000_000_000);
      expect(ifRangeMatches(undefined, v)).toBe(true);
      expect(ifRangeMatches(v.etag, v)).toBe(true);
      expect(ifRangeMatches(`W/${v.etag}`, v)).toBe(false);
      expect(ifRangeMatches('"other"', v)).toBe(false);
      expect(ifRangeMatches(v.lastModified, v)).toBe(true);
      expect(ifRangeMatches(new Date(1_600_000_000_000).toUTCString(), v)).toBe(false);
      expect(ifRangeMatches('not a date', v)).toBe(false);
    });
  });

  describe('GET /stream/:id byte ranges (SECURITY.md 22)', () => {
    let t: TestServer;
    let user: TestUser;
    let headers: Record<string, string>;
    let track: TrackFixture;
    let bytes: Buffer;

    beforeAll(async () => {
      t = await startTestServer();
      user = await t.createUser();
      headers = await t.authHeaders(user);
      track = await addLocalTrack(t.earshot, 'A/B/01 - Song.mp3', { seconds: 3 });
      bytes = await readFile(track.path);
    });
    afterAll(() => t.close());

    const get = (range?: string, extra: Record<string, string> = {}) =>
      t.app.inject({ url: `/stream/${track.id}`, headers: { ...headers, ...(range ? { range } : {}), ...extra } });

    it('whole file: 200, Accept-Ranges, ETag, Last-Modified, Content-Type, Content-Length', async () => {
      const res = await get();
      expect(res.statusCode).toBe(200);
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.headers['content-type']).toBe('audio/mpeg');
      expect(res.headers['content-length']).toBe(String(bytes.length));
      expect(res.headers.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
      expect(Date.parse(String(res.headers['last-modified']))).toBeGreaterThan(0);
      expect(res.rawPayload.equals(bytes)).toBe(true);
    });

    it('a valid range: 206 with Content-Range and exactly those bytes', async () => {
      const res = await get('bytes=100-299');
      expect(res.statusCode).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes 100-299/${bytes.length}`);
      expect(res.headers['content-length']).toBe('200');
      expect(res.rawPayload.equals(bytes.subarray(100, 300))).toBe(true);
    });

    it('open-ended and suffix ranges', async () => {
      const open = await get('bytes=1000-');
      expect(open.statusCode).toBe(206);
      expect(open.rawPayload.equals(bytes.subarray(1000))).toBe(true);
      const suffix = await get('bytes=-500');
      expect(suffix.statusCode).toBe(206);
      expect(suffix.headers['content-range']).toBe(`bytes ${bytes.length - 500}-${bytes.length - 1}/${bytes.length}`);
      expect(suffix.rawPayload.equals(bytes.subarray(bytes.length - 500))).toBe(true);
    });

    it('an end past the file is clamped', async () => {
      const res = await get(`bytes=10-${bytes.length * 10}`);
      expect(res.statusCode).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes 10-${bytes.length - 1}/${bytes.length}`);
    });

    it.each(['bytes=999999999-', 'bytes=<size>-', 'bytes=-0'])('%s → 416 with bytes */size', async (h) => {
      const res = await get(h.replace('<size>', String(bytes.length)));
      expect(res.statusCode).toBe(416);
      expect(res.headers['content-range']).toBe(`bytes */${bytes.length}`);
    });

    it.each([
      'bytes=5-1',
      'garbage',
      'bytes=abc-def',
      'bytes=0-1,5-9',
      `bytes=${Array(200).fill('0-').join(',')}`,
      `bytes=${Array.from({ length: 3000 }, (_, i) => `${i}-${i}`).join(',')}`,
    ])('%s → 200 with the whole file, never multipart', async (h) => {
      const res = await get(h);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('audio/mpeg');
      expect(res.headers['content-range']).toBeUndefined();
      expect(res.rawPayload.equals(bytes)).toBe(true);
    });

    it('HEAD: the same headers, no body, also for ranges', async () => {
      const head = await t.app.inject({ method: 'HEAD', url: `/stream/${track.id}`, headers });
      expect(head.statusCode).toBe(200);
      expect(head.headers['content-length']).toBe(String(bytes.length));
      expect(head.headers['accept-ranges']).toBe('bytes');
      expect(head.rawPayload.length).toBe(0);
      const ranged = await t.app.inject({
        method: 'HEAD',
        url: `/stream/${track.id}`,
        headers: { ...headers, range: 'bytes=0-9' },
      });
      expect(ranged.statusCode).toBe(206);
      expect(ranged.headers['content-range']).toBe(`bytes 0-9/${bytes.length}`);
      expect(ranged.rawPayload.length).toBe(0);
    });

    it('If-Range: a matching ETag or date gives the range, a stale one the whole file', async () => {
      const first = await get();
      const etag = String(first.headers.etag);
      const lastModified = String(first.headers['last-modified']);
      expect((await get('bytes=0-9', { 'if-range': etag })).statusCode).toBe(206);
      expect((await get('bytes=0-9', { 'if-range': lastModified })).statusCode).toBe(206);
      const stale = await get('bytes=0-9', { 'if-range': '"deadbeef-1"' });
      expect(stale.statusCode).toBe(200);
      expect(stale.rawPayload.length).toBe(bytes.length);
      const oldDate = await get('bytes=0-9', { 'if-range': 'Wed, 01 Jan 2020 00:00:00 GMT' });
      expect(oldDate.statusCode).toBe(200);
    });

    it('If-None-Match with the current ETag → 304', async () => {
      const etag = String((await get()).headers.etag);
      const res = await get(undefined, { 'if-none-match': etag });
      expect(res.statusCode).toBe(304);
      expect(res.rawPayload.length).toBe(0);
    });
  });
});
