/** A small real library for Subsonic tests: audio made by ffmpeg, read by the real scanner. */
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { makeAudio } from '../audio.js';
import type { TestServer } from '../harness.js';

export const FILES: { path: string; tags: Record<string, string>; seconds?: number }[] = [
  {
    path: 'Alpha Band/First Light/01 Dawn.mp3',
    tags: {
      title: 'Dawn',
      artist: 'Alpha Band',
      album_artist: 'Alpha Band',
      album: 'First Light',
      genre: 'Rock',
      date: '2001',
      track: '1',
    },
  },
  {
    path: 'Alpha Band/First Light/02 Noon.mp3',
    tags: {
      title: 'Rock & Roll <Live> "Noon"',
      artist: 'Alpha Band',
      album_artist: 'Alpha Band',
      album: 'First Light',
      genre: 'Rock',
      date: '2001',
      track: '2',
    },
  },
  {
    path: 'Beta Trio/Second Wind/01 Gale.flac',
    tags: {
      title: 'Gale',
      artist: 'Beta Trio',
      album_artist: 'Beta Trio',
      album: 'Second Wind',
      genre: 'Jazz',
      date: '1999',
      track: '1',
    },
  },
  {
    path: 'The Gamma/Third/01 Echo.ogg',
    tags: {
      title: 'Echo',
      artist: 'The Gamma',
      album_artist: 'The Gamma',
      album: 'Third',
      genre: 'Rock',
      date: '2010',
      track: '1',
    },
  },
];

export async function buildLibrary(t: TestServer): Promise<void> {
  for (const [i, file] of FILES.entries()) {
    await makeAudio(join(t.earshot.paths.musicDir, file.path), {
      seconds: file.seconds ?? 2,
      frequency: 330 + 110 * i,
      tags: file.tags,
    });
    // Files younger than the scanner's settle time are left for a later pass: age them.
    const old = new Date(Date.now() - 60_000);
    await utimes(join(t.earshot.paths.musicDir, file.path), old, old);
  }
  await t.earshot.library.service.runScan({ full: true, trigger: 'test' });
}

export async function idsOf(t: TestServer) {
  const db = t.earshot.database.db;
  const tracks = await db.selectFrom('tracks').select(['id', 'title', 'album_id', 'artist_id']).execute();
  const albums = await db.selectFrom('albums').select(['id', 'name']).execute();
  const artists = await db.selectFrom('artists').select(['id', 'name']).execute();
  const track = (title: string) => tracks.find((x) => x.title.startsWith(title))!;
  return {
    track,
    album: (name: string) => albums.find((a) => a.name === name)!,
    artist: (name: string) => artists.find((a) => a.name === name)!,
  };
}
