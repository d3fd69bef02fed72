/**
 * The same music folder scanned into SQLite and into PostgreSQL gives the same catalog, row by
 * row: tracks, albums, artists, genres, their links, artwork and unreadable files (ids are random
 * per database, so rows are matched by their natural keys and links by what they point at). Then
 * the same changes (a file moved, one deleted, one added, one made unreadable) rescanned on both
 * agree again. Fixtures: the realistic files (test/realistic.ts) plus tag shapes the grouping
 * rules care about (multi-valued artists and genres, compilations, untagged folder albums).
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../db/database.js';
import { makeAudio } from '../test/audio.js';
import { hasPostgres, postgresEngine, sqliteEngine } from '../test/engines.js';
import { type LibraryTestServer, startLibraryServer } from '../test/library-server.js';
import {
  COVER_KINDS,
  extensionOf,
  placeFixture,
  REALISTIC_KINDS,
  realisticFile,
  ytDlpOpus,
} from '../test/realistic.js';

const music = mkdtempSync(join(tmpdir(), 'earshot-engines-music-'));
let sqlite: LibraryTestServer;
let postgres: LibraryTestServer;

async function buildLibrary(): Promise<void> {
  const formats = REALISTIC_KINDS.map(async (kind, i) => {
    const tags = { title: `Song ${kind}`, artist: `Artist ${kind}`, album: 'Realistic Formats', track: String(i + 1) };
    const src = await realisticFile(kind, {
      seconds: 180 + i * 13,
      frequency: 200 + i * 20,
      tags,
      cover: COVER_KINDS.includes(kind) ? 'small' : undefined,
    });
    await placeFixture(src, join(music, `Formats/${kind}.${extensionOf(kind)}`));
  });
  const opus = ytDlpOpus({ seconds: 247, title: 'Midnight Drive (Official Video)', artist: 'Night Channel' }).then(
    (src) => placeFixture(src, join(music, 'yt-dlp/Midnight Drive [dQw4w9WgXcQ].opus')),
  );
  const untagged = ['evening_tide_sessions', 'north_road'].flatMap((album, a) =>
    [1, 2, 3].map((n) =>
      realisticFile('opus', { seconds: 70 + n * 30, frequency: 800 + a * 50 + n * 15 }).then((src) =>
        placeFixture(src, join(music, `Collection/albums/${album}/track${n}.opus`)),
      ),
    ),
  );
  const shaped = [
    makeAudio(join(music, 'Tagged/Album One/01.mp3'), {
      frequency: 300,
      tags: {
        title: 'First Song',
        artist: 'Alpha; Beta',
        album: 'Album One',
        album_artist: 'Alpha',
        track: '1/2',
        disc: '1/2',
        date: '2001',
        genre: 'Rock; Pop',
      },
    }),
    makeAudio(join(music, 'Tagged/Album One/02.mp3'), {
      frequency: 310,
      tags: { title: 'Second Song', artist: 'Gamma', album: 'Album One', track: '2/2', disc: '2/2', genre: 'Rock' },
    }),
    makeAudio(join(music, 'Comp/Hits/01.mp3'), {
      frequency: 320,
      tags: { title: 'Hit A', artist: 'Delta', album: 'Hits', compilation: '1', genre: 'Pop' },
    }),
    makeAudio(join(music, 'Comp/Hits/02.mp3'), {
      frequency: 330,
      tags: { title: 'Hit B', artist: 'Epsilon', album: 'Hits', compilation: '1' },
    }),
    makeAudio(join(music, 'Mixed/Various Live (2004)/01 - one.ogg'), { frequency: 340, tags: { artist: 'Zeta' } }),
    makeAudio(join(music, 'Mixed/Various Live (2004)/02 - two.ogg'), { frequency: 350, tags: { artist: 'Eta' } }),
  ];
  await Promise.all([...formats, opus, ...untagged, ...shaped]);
  mkdirSync(join(music, 'Broken'), { recursive: true });
  writeFileSync(join(music, 'Broken/not audio.mp3'), 'this is not an mp3 file at all');
  settle(music);
}

/** Dates every file a minute back, as a finished copy would be (younger ones wait for a later scan). */
function settle(dir: string): void {
  const old = new Date(Date.now() - 60_000);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) settle(path);
    else utimesSync(path, old, old);
  }
}

beforeAll(async () => {
  await buildLibrary();
  sqlite = await startLibraryServer(sqliteEngine, { env: { EARSHOT_MUSIC_DIR: music } });
  if (hasPostgres()) postgres = await startLibraryServer(postgresEngine, { env: { EARSHOT_MUSIC_DIR: music } });
}, 900_000);

afterAll(async () => {
  await sqlite?.close();
  await postgres?.close();
  rmSync(music, { recursive: true, force: true });
});

const byKey = <T>(rows: T[], key: (r: T) => string) =>
  rows.map((r) => [key(r), r] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** The catalog with ids replaced by what they name, sorted by natural keys (byte order). */
async function catalog(db: Db) {
  const artists = await db.selectFrom('artists').selectAll().execute();
  const albums = await db.selectFrom('albums').selectAll().execute();
  const genres = await db.selectFrom('genres').selectAll().execute();
  const tracks = await db.selectFrom('tracks').selectAll().execute();
  const artistKey = new Map(artists.map((a) => [a.id, a.name_key]));
  const albumKey = new Map(albums.map((a) => [a.id, a.group_key]));
  const genreKey = new Map(genres.map((g) => [g.id, g.name_key]));
  const trackKey = new Map(tracks.map((t) => [t.id, t.local_path]));
  const artistOf = (id: string | null) => (id === null ? null : (artistKey.get(id) ?? `missing ${id}`));
  const links = await db.selectFrom('track_artists').selectAll().execute();
  const genreLinks = await db.selectFrom('track_genres').selectAll().execute();
  return {
    tracks: byKey(
      tracks.map(({ id: _id, added_at: _a, updated_at: _u, album_id, artist_id, ...t }) => ({
        ...t,
        album: albumKey.get(album_id ?? '') ?? null,
        artist_id: artistOf(artist_id),
        album_title: t.album,
      })),
      (t) => t.local_path ?? '',
    ),
    albums: byKey(
      albums.map(({ id: _id, added_at: _a, updated_at: _u, artist_id, ...a }) => ({
        ...a,
        artist: artistOf(artist_id),
        // A sum of floats: each engine adds the tracks in its own order (last-digit differences).
        duration: Math.round(a.duration * 1e6) / 1e6,
      })),
      (a) => a.group_key,
    ),
    artists: byKey(
      artists.map(({ id: _id, added_at: _a, updated_at: _u, ...a }) => a),
      (a) => a.name_key,
    ),
    genres: byKey(
      genres.map(({ id: _id, ...g }) => g),
      (g) => g.name_key,
    ),
    trackArtists: links
      .map((l) => `${trackKey.get(l.track_id)}|${artistKey.get(l.artist_id)}|${l.role}|${l.position}`)
      .sort(),
    trackGenres: genreLinks.map((l) => `${trackKey.get(l.track_id)}|${genreKey.get(l.genre_id)}`).sort(),
    artwork: byKey(
      (await db.selectFrom('artwork').selectAll().execute()).map(({ created_at: _c, ...a }) => a),
      (a) => a.id,
    ),
    scanErrors: byKey(
      (await db.selectFrom('scan_errors').selectAll().execute()).map(({ seen_at: _s, mtime: _m, ...e }) => e),
      (e) => e.local_path,
    ),
  };
}

const scanBoth = async () => {
  const a = await sqlite.earshot.library.service.runScan({ trigger: 'test' });
  const b = await postgres.earshot.library.service.runScan({ trigger: 'test' });
  return [a, b] as const;
};
const counts = (s: { added: number; updated: number; moved: number; removed: number; unreadable: number }) => ({
  added: s.added,
  updated: s.updated,
  moved: s.moved,
  removed: s.removed,
  unreadable: s.unreadable,
});

describe.skipIf(!hasPostgres())('SQLite and PostgreSQL scan the same library into the same catalog', () => {
  it('a first scan: the same rows in every catalog table', async () => {
    const [a, b] = await scanBoth();
    expect(a.state).toBe('done');
    expect(b.state).toBe('done');
    expect(counts(b)).toEqual(counts(a));
    expect(a.unreadable).toBe(1);
    const [left, right] = [await catalog(sqlite.earshot.database.db), await catalog(postgres.earshot.database.db)];
    // The fixture exercises what it should: every table has rows.
    expect(left.tracks.length).toBe(REALISTIC_KINDS.length + 1 + 6 + 6);
    expect(left.albums.some(([, al]) => al.compilation === 1)).toBe(true);
    expect(left.artwork.length).toBeGreaterThan(1);
    expect(left.genres.length).toBeGreaterThanOrEqual(2);
    expect(right).toEqual(left);
  });

  it('a rescan of the same files changes nothing on either engine', async () => {
    const [a, b] = await scanBoth();
    expect(counts(a)).toEqual({ added: 0, updated: 0, moved: 0, removed: 0, unreadable: 0 });
    expect(counts(b)).toEqual(counts(a));
  });

  it('moves, deletions, additions and a newly unreadable file agree after the next scan', async () => {
    mkdirSync(join(music, 'Elsewhere'), { recursive: true });
    renameSync(join(music, 'Comp/Hits/02.mp3'), join(music, 'Elsewhere/moved hit.mp3'));
    rmSync(join(music, 'Tagged/Album One/02.mp3'));
    copyFileSync(join(music, 'Formats/flac.flac'), join(music, 'Collection/albums/north_road/track9.flac'));
    writeFileSync(join(music, 'Broken/also broken.ogg'), 'OggS but not really');
    const old = new Date(Date.now() - 60_000); // settled, as a finished copy is
    for (const f of ['Collection/albums/north_road/track9.flac', 'Broken/also broken.ogg'])
      utimesSync(join(music, f), old, old);
    const [a, b] = await scanBoth();
    expect(counts(a)).toEqual({ added: 1, updated: 0, moved: 1, removed: 1, unreadable: 1 });
    expect(counts(b)).toEqual(counts(a));
    expect(await catalog(postgres.earshot.database.db)).toEqual(await catalog(sqlite.earshot.database.db));
  });
});
