/**
 * stream / download / getCoverArt / lyrics through `/rest` on a real port: byte ranges, real
 * ffmpeg transcodes (format, maxBitRate, timeOffset), cover sizes, errors as XML with HTTP 200.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachServerEngine } from '../test/engines.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { queryString } from '../test/subsonic/client.js';
import { buildLibrary, idsOf } from '../test/subsonic/library.js';
import { assertValidXml } from '../test/subsonic/xsd.js';

let t: TestServer;
let base: string;
let auth: Record<string, string>;
let ids: Awaited<ReturnType<typeof idsOf>>;

// biome-ignore lint/suspicious/noExplicitAny: response trees are read as clients read them
const json = async (res: Response): Promise<any> => res.json();
const url = (method: string, q: Record<string, string | number> = {}) =>
  `${base}/rest/${method}?${queryString({ v: '1.16.1', c: 'vitest', ...auth, ...q })}`;

forEachServerEngine(() => {
  beforeAll(async () => {
    t = await startTestServer({ env: { EARSHOT_SUBSONIC_REMOTE_SEARCH: 'false' } });
    const alice = await t.createUser({ username: 'alice' });
    await buildLibrary(t);
    ids = await idsOf(t);
    auth = { u: 'alice', p: (await t.earshot.accounts.subsonic.createAppPassword(alice.id)).password };
    base = await t.listen();
  });
  afterAll(() => t.close());

  describe('stream and download', () => {
    it('streams the original with Range (206) and 416 outside the file; stream does not count a play', async () => {
      const dawn = ids.track('Dawn');
      const file = readFileSync(join(t.earshot.paths.musicDir, 'Alpha Band/First Light/01 Dawn.mp3'));
      const full = await fetch(url('stream.view', { id: dawn.id }));
      expect(full.status).toBe(200);
      expect(full.headers.get('content-type')).toBe('audio/mpeg');
      expect(full.headers.get('accept-ranges')).toBe('bytes');
      expect(Buffer.from(await full.arrayBuffer()).equals(file)).toBe(true);

      const part = await fetch(url('stream', { id: dawn.id }), { headers: { range: 'bytes=100-' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 100-${file.length - 1}/${file.length}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(file.subarray(100))).toBe(true);

      const raw = await fetch(url('stream', { id: dawn.id, format: 'raw', maxBitRate: 64 }), {
        headers: { range: 'bytes=0-9' },
      });
      expect(raw.status).toBe(206);
      expect(Buffer.from(await raw.arrayBuffer()).equals(file.subarray(0, 10))).toBe(true);

      const outside = await fetch(url('stream', { id: dawn.id }), { headers: { range: `bytes=${file.length + 10}-` } });
      expect(outside.status).toBe(416);
      await outside.arrayBuffer();

      const row = await t.earshot.database.db
        .selectFrom('plays')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(row.n)).toBe(0);
    });

    it('transcodes with format and maxBitRate, and seeks with timeOffset (transcodeOffset)', async () => {
      const gale = ids.track('Gale');
      const mp3 = await fetch(url('stream', { id: gale.id, format: 'mp3', maxBitRate: 96 }));
      expect(mp3.status).toBe(200);
      expect(mp3.headers.get('content-type')).toBe('audio/mpeg');
      expect(mp3.headers.get('x-earshot-transcode')).toBe('mp3;96kbps');
      const whole = Buffer.from(await mp3.arrayBuffer());
      expect(whole.length).toBeGreaterThan(10_000);

      const later = await fetch(url('stream', { id: gale.id, format: 'mp3', maxBitRate: 96, timeOffset: 1 }));
      const tail = Buffer.from(await later.arrayBuffer());
      expect(tail.length).toBeGreaterThan(1000);
      expect(tail.length).toBeLessThan(whole.length * 0.75);

      // maxBitRate alone (no format) asks the server to pick its codec under the cap.
      const capped = await fetch(url('stream', { id: gale.id, maxBitRate: 64 }));
      expect(capped.headers.get('x-earshot-transcode')).toMatch(/;64kbps$/);
      await capped.arrayBuffer();
    });

    it('download serves the original as an attachment', async () => {
      const gale = ids.track('Gale');
      const file = readFileSync(join(t.earshot.paths.musicDir, 'Beta Trio/Second Wind/01 Gale.flac'));
      const res = await fetch(url('download', { id: gale.id, format: 'mp3' }));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename\*=UTF-8''Gale$/);
      expect(Buffer.from(await res.arrayBuffer()).equals(file)).toBe(true);
    });

    it('errors on media endpoints are schema-valid XML with HTTP 200 (DSub checks text/xml)', async () => {
      const cases: Record<string, string>[] = [{ id: 'missing' }, {}, { id: ids.track('Dawn').id, timeOffset: 'soon' }];
      for (const q of cases) {
        const res = await fetch(url('stream', q));
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
        expect(res.headers.get('content-disposition')).toBeNull();
        const body = await res.text();
        assertValidXml(body);
        expect(body).toMatch(/status="failed"/);
      }
      const jsonRes = await fetch(url('download', { id: 'missing', f: 'json' }));
      expect((await json(jsonRes))['subsonic-response'].error.code).toBe(70);
    });
  });

  describe('cover art and lyrics', () => {
    it('getCoverArt renders album, track and artist art at the asked size', async () => {
      const album = ids.album('First Light');
      const song = (await json(await fetch(url('getSong', { id: ids.track('Dawn').id, f: 'json' }))))[
        'subsonic-response'
      ].song;
      expect(song.coverArt).toBe(`al-${album.id}`);
      for (const id of [song.coverArt, `ar-${ids.artist('Beta Trio').id}`, ids.track('Echo').id]) {
        const res = await fetch(url('getCoverArt', { id, size: 64 }));
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('image/jpeg');
        const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
        expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBe(64);
      }
      const missing = await fetch(url('getCoverArt', { id: 'al-nothing' }));
      expect(missing.headers.get('content-type')).toMatch(/^text\/xml/);
      expect(await missing.text()).toContain('code="70"');
    });

    it('getLyricsBySongId returns synced LRC lines in ms; getLyrics finds by artist and title', async () => {
      const dawn = ids.track('Dawn');
      await t.earshot.database.db
        .updateTable('tracks')
        .set({ lyrics: '[offset:+120]\n[00:01.50]First line\n[00:03.25]Second & last' })
        .where('id', '=', dawn.id)
        .execute();
      const r = await json(await fetch(url('getLyricsBySongId', { id: dawn.id, f: 'json' })));
      expect(r['subsonic-response'].lyricsList.structuredLyrics).toEqual([
        {
          displayArtist: 'Alpha Band',
          displayTitle: 'Dawn',
          lang: 'xxx',
          offset: 120,
          synced: true,
          line: [
            { start: 1500, value: 'First line' },
            { start: 3250, value: 'Second & last' },
          ],
        },
      ]);
      const plain = await fetch(url('getLyrics', { artist: 'alpha band', title: 'DAWN' }));
      const xml = await plain.text();
      assertValidXml(xml);
      expect(xml).toContain('First line\nSecond &amp; last</lyrics>');
      const none = await json(await fetch(url('getLyricsBySongId', { id: ids.track('Gale').id, f: 'json' })));
      expect(none['subsonic-response'].lyricsList).toEqual({});
    });
  });
});
