/**
 * Real-length files in every supported format, shaped like real collections, through the real
 * scanner into a real database (a SQLite file, then a PostgreSQL database): every file indexed,
 * with its tags, a duration within 1 s of ffprobe's and its embedded cover (the artwork id is the
 * SHA-256 of the whole image, so a truncated picture fails). Fixtures are cached in the temp dir
 * (see test/realistic.ts), so the second engine's block does not make them again.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../db/engine.js';
import { forEachServerEngine } from '../test/engines.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import {
  COVER_KINDS,
  coverImage,
  extensionOf,
  ffprobeDuration,
  mp3WithLateTags,
  placeFixture,
  REALISTIC_KINDS,
  type RealisticKind,
  realisticFile,
  ytDlpOpus,
} from '../test/realistic.js';

interface Expected {
  rel: string;
  title?: string;
  artist?: string;
  album?: string;
  /** SHA-256 of the embedded cover. */
  cover?: string;
  /** ffprobe's duration (packets added up for an MP3 without a Xing header). */
  duration: number;
}

let t: TestServer;
const expected: Expected[] = [];
let summary: Awaited<ReturnType<TestServer['earshot']['library']['service']['runScan']>>;
/** Each engine's catalog after the scan, without what differs by nature (see {@link catalogRows}). */
const catalogs: Partial<Record<Engine, string[]>> = {};

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
const db = () => t.earshot.database.db;

async function add(src: string, rel: string, e: Omit<Expected, 'rel' | 'duration'>, packets = false) {
  await placeFixture(src, join(t.config.musicDir, rel));
  expected.push({ rel, ...e, duration: await ffprobeDuration(src, { packets }) });
}

/**
 * Every track, album, artist and genre row as comparable text: random ids (other than content
 * hashes and MusicBrainz ids), times and file mtimes left out, rows sorted.
 */
async function catalogRows(): Promise<string[]> {
  const volatile = (key: string) =>
    key === 'id' ||
    key === 'mtime' ||
    key === 'added_by' ||
    key.endsWith('_at') ||
    (key.endsWith('_id') && key !== 'artwork_id' && !key.startsWith('mbz_'));
  const rows: string[] = [];
  for (const table of ['tracks', 'albums', 'artists', 'genres'] as const) {
    for (const row of await db().selectFrom(table).selectAll().execute()) {
      const kept = Object.entries(row).filter(([key]) => !volatile(key));
      rows.push(`${table} ${JSON.stringify(Object.fromEntries(kept))}`);
    }
  }
  return rows.sort();
}

/** Cover sizes: Ogg files get one larger than the tag worker's 256 KiB head, the rest a small one. */
const coverSize = (kind: RealisticKind) => (['ogg-vorbis', 'opus', 'ogg-flac'].includes(kind) ? 'large' : 'small');

forEachServerEngine((engine) => {
  beforeAll(async () => {
    t = await startTestServer();
    expected.length = 0; // each engine's block places and expects its own files
    const covers = {
      small: await sha256((await coverImage('small')).path),
      large: await sha256((await coverImage('large')).path),
      thumbnail: await sha256((await coverImage('thumbnail')).path),
    };
    // One 3–6 minute file per format, tagged, with an embedded cover where the format has one.
    const formats = REALISTIC_KINDS.map(async (kind, i) => {
      const tags = {
        title: `Song ${kind}`,
        artist: `Artist ${kind}`,
        album: 'Realistic Formats',
        track: String(i + 1),
      };
      const cover = COVER_KINDS.includes(kind) ? coverSize(kind) : undefined;
      const src = await realisticFile(kind, { seconds: 180 + i * 13, frequency: 200 + i * 20, tags, cover });
      await add(
        src,
        `Formats/${kind}.${extensionOf(kind)}`,
        { title: tags.title, artist: tags.artist, album: tags.album, cover: cover && covers[cover] },
        kind === 'mp3-vbr-noxing',
      );
    });
    // METADATA_BLOCK_PICTURE covers that fit in the head, yt-dlp's Opus, ID3 text frames past 256 KiB.
    const extras = [
      realisticFile('ogg-vorbis', {
        seconds: 215,
        frequency: 510,
        tags: { title: 'Small Cover Vorbis', artist: 'Picard', album: 'Covers' },
        cover: 'small',
      }).then((src) =>
        add(src, 'Covers/small.ogg', {
          title: 'Small Cover Vorbis',
          artist: 'Picard',
          album: 'Covers',
          cover: covers.small,
        }),
      ),
      realisticFile('opus', {
        seconds: 233,
        frequency: 520,
        tags: { title: 'Small Cover Opus', artist: 'Beets', album: 'Covers' },
        cover: 'small',
      }).then((src) =>
        add(src, 'Covers/small.opus', {
          title: 'Small Cover Opus',
          artist: 'Beets',
          album: 'Covers',
          cover: covers.small,
        }),
      ),
      ytDlpOpus({ seconds: 247, title: 'Midnight Drive (Official Video)', artist: 'Night Channel' }).then((src) =>
        add(src, 'yt-dlp/Midnight Drive (Official Video) [dQw4w9WgXcQ].opus', {
          title: 'Midnight Drive (Official Video)',
          artist: 'Night Channel',
          cover: covers.thumbnail,
        }),
      ),
      mp3WithLateTags({
        seconds: 262,
        tags: { TIT2: 'Late Frames', TPE1: 'Padding Artist', TALB: 'Beyond The Head', TRCK: '4' },
      }).then((src) =>
        add(src, 'Late/late.mp3', {
          title: 'Late Frames',
          artist: 'Padding Artist',
          album: 'Beyond The Head',
          cover: covers.large,
        }),
      ),
    ];
    // A collection as a user had it: tagged Ogg Vorbis files of 1–6 minutes in one flat folder, and
    // Opus files without descriptive tags in albums/<name>_<words>/trackN.opus.
    const flat = Array.from({ length: 12 }, (_, i) =>
      realisticFile('ogg-vorbis', {
        seconds: 60 + i * 25,
        frequency: 600 + i * 15,
        tags: { title: `Flat ${i + 1}`, artist: `Band ${i % 3}`, album: `Record ${i % 4}`, tracknumber: String(i + 1) },
      }).then((src) =>
        add(src, `Collection/flat/${String(i + 1).padStart(2, '0')} flat.ogg`, { title: `Flat ${i + 1}` }),
      ),
    );
    const albums = ['evening_tide_sessions', 'north_road', 'glass_harbour_live'];
    const untagged = Array.from({ length: 9 }, (_, i) =>
      realisticFile('opus', { seconds: 70 + i * 30, frequency: 800 + i * 15 }).then((src) =>
        add(src, `Collection/albums/${albums[i % 3]}/track${Math.floor(i / 3) + 1}.opus`, {}),
      ),
    );
    await Promise.all([...formats, ...extras, ...flat, ...untagged]);
    summary = await t.earshot.library.service.runScan({ full: false, trigger: 'test' });
  }, 900_000);

  afterAll(async () => {
    await t?.close();
  });

  describe('realistic files', () => {
    it('indexes every file: nothing unreadable, nothing deferred', async () => {
      const errors = await db().selectFrom('scan_errors').select(['local_path', 'reason']).execute();
      expect(errors).toEqual([]);
      expect(summary).toMatchObject({ state: 'done', added: expected.length, unreadable: 0, deferred: 0 });
      const paths = (await db().selectFrom('tracks').select('local_path').execute()).map((r) => r.local_path).sort();
      expect(paths).toEqual(expected.map((e) => e.rel).sort());
    });

    it('has each file’s tags, its duration within 1 s of ffprobe’s and its whole embedded cover', async () => {
      const rows = await db()
        .selectFrom('tracks')
        .select(['local_path', 'title', 'artist', 'album', 'duration', 'artwork_id', 'bitrate'])
        .execute();
      const byPath = new Map(rows.map((r) => [r.local_path, r]));
      for (const e of expected) {
        const row = byPath.get(e.rel);
        const label = `${e.rel} (${JSON.stringify(row)})`;
        expect(row, label).toBeDefined();
        expect(e.duration, label).toBeGreaterThan(59);
        expect(Math.abs((row?.duration ?? 0) - e.duration), label).toBeLessThan(1);
        expect(row?.bitrate, label).toBeGreaterThan(0);
        if (e.title) expect(row?.title, label).toBe(e.title);
        if (e.artist) expect(row?.artist, label).toBe(e.artist);
        if (e.album) expect(row?.album, label).toBe(e.album);
        if (e.cover) expect(row?.artwork_id, label).toBe(e.cover);
      }
    });

    it('the scan wrote the same catalog as on SQLite (ids and times aside)', async (ctx) => {
      catalogs[engine] = await catalogRows();
      expect(catalogs[engine]?.length).toBeGreaterThan(expected.length);
      if (engine === 'sqlite') return;
      // The SQLite block ran first in this file; a run filtered to this block has nothing to compare.
      if (!catalogs.sqlite) ctx.skip();
      expect(catalogs.postgres).toEqual(catalogs.sqlite);
    });

    it('a rescan of the same files changes nothing', async () => {
      const again = await t.earshot.library.service.runScan({ full: false, trigger: 'test' });
      expect(again).toMatchObject({ state: 'done', added: 0, updated: 0, removed: 0, unreadable: 0 });
    });
  });
});
