import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  copyFileSync,
  readFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_CLASS, SCAN_LOCK } from './scan-runs.repository.pg.js';
import { makeAudio, makeImage } from '../test/audio.js';
import { forEachEngine } from '../test/engines.js';
import { type LibraryTestServer, startLibraryServer } from '../test/library-server.js';
import { settleFiles } from '../test/settle.js';

let t: LibraryTestServer;
let music: string;
const outside = join(tmpdir(), `earshot-outside-${process.pid}`);

async function scan(full = false) {
  return t.earshot.library.service.runScan({ full, trigger: 'test' });
}
const db = () => t.earshot.database.db;
const trackByPath = (p: string) => db().selectFrom('tracks').selectAll().where('local_path', '=', p).executeTakeFirst();

forEachEngine((engine) => {
  beforeAll(async () => {
    t = await startLibraryServer(engine);
    music = t.config.musicDir;
    const cover = await makeImage(join(tmpdir(), `earshot-cover-${process.pid}.jpg`), {
      color: 'blue',
      width: 64,
      height: 64,
    });
    await Promise.all([
      makeAudio(join(music, 'Tagged/Album One/01 - ignored name.mp3'), {
        frequency: 300,
        id3v2Version: 3,
        coverPath: cover,
        tags: {
          title: 'First Song',
          artist: 'Alpha; Beta',
          album: 'Album One',
          album_artist: 'Alpha',
          track: '1/2',
          disc: '1/2',
          date: '2001',
          genre: 'Rock; Pop',
          comment: 'nice one',
        },
      }),
      makeAudio(join(music, 'Tagged/Album One/02 - second.mp3'), {
        frequency: 310,
        coverPath: cover,
        tags: {
          title: 'Second Song',
          artist: 'AC/DC',
          album: 'Album One',
          album_artist: 'Alpha',
          track: '1',
          disc: '2/2',
          date: '2001',
          genre: 'Rock',
        },
      }),
      makeAudio(join(music, 'Formats/song.flac'), {
        frequency: 320,
        tags: {
          title: 'Flac Song',
          artist: 'Café Tacvba',
          album: 'Formats',
          genre: 'Latin',
          REPLAYGAIN_TRACK_GAIN: '-6.5 dB',
          MUSICBRAINZ_TRACKID: 'b1a9c0e0-0000-4000-8000-000000000001',
        },
      }),
      makeAudio(join(music, 'Formats/song.m4a'), {
        frequency: 330,
        tags: { title: 'M4A Song', artist: 'Mp4 Artist', album: 'Formats M4A' },
      }),
      makeAudio(join(music, 'Formats/song.ogg'), {
        frequency: 340,
        tags: { title: 'Ogg Song', artist: 'Vorbis Artist', album: 'Formats Ogg' },
      }),
      makeAudio(join(music, 'Formats/song.opus'), {
        frequency: 350,
        tags: { title: 'Opus Song', artist: 'Opus Artist', album: 'Formats Opus' },
      }),
      makeAudio(join(music, 'Formats/song.wav'), { frequency: 360 }),
      makeAudio(join(music, 'Comp/Hits/01 - a.mp3'), {
        frequency: 370,
        tags: { title: 'Comp A', artist: 'One', album: 'Hits', compilation: '1', track: '1' },
      }),
      makeAudio(join(music, 'Comp/Hits/02 - b.mp3'), {
        frequency: 380,
        tags: { title: 'Comp B', artist: 'Two', album: 'Hits', compilation: '1', track: '2' },
      }),
      makeAudio(join(music, 'Folder Artist/Folder Album/03 - Folder Title.mp3'), { frequency: 390 }),
      makeAudio(join(music, 'Loose Artist - Loose Title.ogg'), { frequency: 400 }),
    ]);
    writeFileSync(join(music, 'Formats/song.lrc'), '[00:01.00]la la la');
    await makeImage(join(music, 'Folder Artist/Folder Album/Cover.JPG'), { color: 'green', width: 32, height: 32 });
    mkdirSync(join(outside, 'secret'), { recursive: true });
    // Bad files (SECURITY.md 21).
    mkdirSync(join(music, 'Bad'), { recursive: true });
    writeFileSync(join(music, 'Bad/empty.mp3'), '');
    writeFileSync(join(music, 'Bad/text.mp3'), 'this is not music at all\n'.repeat(200));
    const huge = Buffer.alloc(2048);
    huge.write('ID3', 0, 'latin1');
    huge[3] = 4;
    huge.set([0x7f, 0x7f, 0x7f, 0x7f], 6); // declares ~256 MB
    writeFileSync(join(music, 'Bad/huge-id3.mp3'), huge);
    // A FLAC cut off inside its picture block.
    const withPicture = readFileSync(await makeAudio(join(outside, 'pic.flac'), { coverPath: cover, frequency: 420 }));
    const picAt = withPicture.indexOf('image/jpeg');
    writeFileSync(join(music, 'Bad/truncated.flac'), withPicture.subarray(0, picAt + 200));
    // Symlink escapes (SECURITY.md 2).
    writeFileSync(join(outside, 'passwd.mp3'), 'root:x:0:0:root:/root:/bin/bash\n');
    await makeAudio(join(outside, 'secret/real.mp3'), { frequency: 410, tags: { title: 'Outside' } });
    symlinkSync(join(outside, 'passwd.mp3'), join(music, 'Bad/passwd.mp3'));
    symlinkSync(join(outside, 'secret'), join(music, 'escape-dir'));
    symlinkSync(t.earshot.paths.dbFile, join(music, 'Bad/db.mp3'));
    settleFiles(music); // dated back: the scanner reads files once settled (test/settle.ts)
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    rmSync(outside, { recursive: true, force: true });
  });

  describe('library scanner', () => {
    it('SECURITY 2, 21: reads every format, skips escapes, records bad files and keeps going', async () => {
      const summary = await scan();
      expect(summary.state).toBe('done');
      expect(summary.added).toBe(11);
      const formats = (await db().selectFrom('tracks').select('format').execute()).map((r) => r.format).sort();
      expect(formats).toEqual(['flac', 'm4a', 'mp3', 'mp3', 'mp3', 'mp3', 'mp3', 'ogg', 'ogg', 'opus', 'wav']);
      const errors = await db().selectFrom('scan_errors').selectAll().orderBy('local_path').execute();
      expect(errors.map((e) => e.local_path)).toEqual([
        'Bad/empty.mp3',
        'Bad/huge-id3.mp3',
        'Bad/text.mp3',
        'Bad/truncated.flac',
      ]);
      expect(errors.find((e) => e.local_path === 'Bad/empty.mp3')?.reason).toMatch(/empty/);
      expect(errors.find((e) => e.local_path === 'Bad/huge-id3.mp3')?.reason).toMatch(/ID3v2 tag declares/);
      const paths = (await db().selectFrom('tracks').select('local_path').execute()).map((r) => r.local_path);
      expect(paths.some((p) => p?.includes('escape-dir') || p?.includes('passwd') || p?.includes('db.mp3'))).toBe(
        false,
      );
      expect(
        await db().selectFrom('tracks').select('id').where('title', '=', 'Outside').executeTakeFirst(),
      ).toBeUndefined();
    });

    it('extracts tags: multi-valued artists with separators and exceptions, genres, discs, comment, replaygain, mbz, lyrics', async () => {
      const first = await trackByPath('Tagged/Album One/01 - ignored name.mp3');
      expect(first).toMatchObject({
        title: 'First Song',
        artist: 'Alpha, Beta',
        album: 'Album One',
        album_artist: 'Alpha',
        track_number: 1,
        track_total: 2,
        disc_number: 1,
        disc_total: 2,
        year: 2001,
        genre: 'Rock, Pop',
        comment: 'nice one',
      });
      const second = await trackByPath('Tagged/Album One/02 - second.mp3');
      expect(second?.artist).toBe('AC/DC');
      expect(second?.album_id).toBe(first?.album_id);
      const album = await db()
        .selectFrom('albums')
        .selectAll()
        .where('id', '=', first!.album_id!)
        .executeTakeFirstOrThrow();
      expect(album).toMatchObject({
        name: 'Album One',
        album_artist: 'Alpha',
        track_count: 2,
        disc_count: 2,
        year: 2001,
      });
      const flac = await trackByPath('Formats/song.flac');
      expect(flac).toMatchObject({
        title: 'Flac Song',
        artist: 'Café Tacvba',
        rg_track_gain: -6.5,
        mbz_recording_id: 'b1a9c0e0-0000-4000-8000-000000000001',
        lyrics: '[00:01.00]la la la',
        codec: 'FLAC',
      });
      for (const [path, title] of [
        ['Formats/song.m4a', 'M4A Song'],
        ['Formats/song.ogg', 'Ogg Song'],
        ['Formats/song.opus', 'Opus Song'],
      ]) {
        const row = await trackByPath(path);
        expect(row?.title).toBe(title);
        expect(row?.duration).toBeGreaterThan(1.5);
      }
      const artists = (await db().selectFrom('artists').select('name').execute()).map((a) => a.name);
      expect(artists).toEqual(expect.arrayContaining(['Alpha', 'Beta', 'AC/DC', 'Café Tacvba']));
      const genres = (await db().selectFrom('genres').select('name').execute()).map((g) => g.name).sort();
      expect(genres).toEqual(['Latin', 'Pop', 'Rock']);
    });

    it('falls back to folder and file names for untagged files', async () => {
      expect(await trackByPath('Folder Artist/Folder Album/03 - Folder Title.mp3')).toMatchObject({
        title: 'Folder Title',
        artist: 'Folder Artist',
        album: 'Folder Album',
        track_number: 3,
      });
      expect(await trackByPath('Loose Artist - Loose Title.ogg')).toMatchObject({
        title: 'Loose Title',
        artist: 'Loose Artist',
        album: 'Unknown Album',
      });
      expect(await trackByPath('Formats/song.wav')).toMatchObject({ title: 'song', album: 'Formats' });
    });

    it('groups compilations under Various Artists', async () => {
      const a = await trackByPath('Comp/Hits/01 - a.mp3');
      const b = await trackByPath('Comp/Hits/02 - b.mp3');
      expect(a?.album_id).toBe(b?.album_id);
      const album = await db()
        .selectFrom('albums')
        .selectAll()
        .where('id', '=', a!.album_id!)
        .executeTakeFirstOrThrow();
      expect(album).toMatchObject({ album_artist: 'Various Artists', compilation: 1, track_count: 2 });
    });

    it('stores artwork content-addressed and deduplicated; folder art for albums without embedded art', async () => {
      const first = await trackByPath('Tagged/Album One/01 - ignored name.mp3');
      const second = await trackByPath('Tagged/Album One/02 - second.mp3');
      expect(first?.artwork_id).toMatch(/^[0-9a-f]{64}$/);
      expect(second?.artwork_id).toBe(first?.artwork_id);
      const folder = await trackByPath('Folder Artist/Folder Album/03 - Folder Title.mp3');
      expect(folder?.artwork_id).toMatch(/^[0-9a-f]{64}$/);
      const album = await db()
        .selectFrom('albums')
        .select('artwork_id')
        .where('id', '=', folder!.album_id!)
        .executeTakeFirstOrThrow();
      expect(album.artwork_id).toBe(folder?.artwork_id);
      const rows = await db().selectFrom('artwork').selectAll().execute();
      expect(rows).toHaveLength(2);
      const files = readdirSync(t.earshot.paths.artworkDir, { recursive: true }).filter((f) => String(f).includes('.'));
      expect(files).toHaveLength(2);
    });

    it('a no-change rescan changes nothing; a full rescan keeps every id', async () => {
      const before = await db().selectFrom('tracks').select(['id', 'local_path']).orderBy('id').execute();
      const again = await scan();
      expect(again).toMatchObject({ added: 0, updated: 0, removed: 0, moved: 0, filesTotal: 0 });
      const full = await scan(true);
      expect(full).toMatchObject({ added: 0, removed: 0, moved: 0, updated: 11 });
      expect(await db().selectFrom('tracks').select(['id', 'local_path']).orderBy('id').execute()).toEqual(before);
    });

    it('the rescan stamp index, left missing by a large scan killed before its end, is built again by the next scan', async () => {
      if (t.engine === 'postgres') return; // SQLite's covering index (migration 0023); PostgreSQL keeps its own
      const sqlite = t.sqlite;
      const indexSql = () =>
        sqlite
          .prepare("select sql from sqlite_master where type = 'index' and name = 'tracks_local_stamp'")
          .pluck()
          .get();
      const created = indexSql();
      expect(created).toBe(
        "CREATE INDEX tracks_local_stamp on tracks(local_path, size, mtime, id) where source_type = 'local'",
      );
      sqlite.exec('drop index tracks_local_stamp'); // what a large scan's read phase does (suspendStampIndex)
      const again = await scan();
      expect(again).toMatchObject({ state: 'done', added: 0, updated: 0, removed: 0 });
      expect(indexSql()).toBe(created);
      // The diff read the stamps without it (a table scan): nothing was taken for new or missing.
      expect(await scan()).toMatchObject({ filesTotal: 0, removed: 0 });
    });

    it('a scan whose stamp index cannot be built (a full disk) is still recorded as finished; a later scan builds it', async () => {
      if (t.engine === 'postgres') return; // SQLite's covering index (migration 0023)
      const sqlite = t.sqlite;
      const hasIndex = () =>
        sqlite.prepare("select count(*) from sqlite_master where name = 'tracks_local_stamp'").pluck().get() === 1;
      sqlite.exec('drop index tracks_local_stamp');
      sqlite.exec('vacuum'); // the index's freed pages are given back, so it would need new ones
      // The database may not grow: what a full disk does to the index's new pages (SQLITE_FULL).
      const pages = sqlite.pragma('page_count', { simple: true }) as number;
      const limit = sqlite.pragma('max_page_count', { simple: true }) as number;
      sqlite.pragma(`max_page_count = ${pages}`);
      try {
        const full = await scan();
        expect(full).toMatchObject({ state: 'done', added: 0, removed: 0 });
        expect(hasIndex()).toBe(false);
        const running = await db().selectFrom('scan_runs').select('id').where('state', '=', 'running').execute();
        expect(running).toEqual([]);
      } finally {
        sqlite.pragma(`max_page_count = ${limit}`);
      }
      expect(await scan()).toMatchObject({ state: 'done', added: 0, removed: 0 });
      expect(hasIndex()).toBe(true);
    });

    it('a renamed or moved file keeps its id; a deleted file leaves playlist entries unavailable', async () => {
      const before = await trackByPath('Formats/song.ogg');
      mkdirSync(join(music, 'Moved'), { recursive: true });
      renameSync(join(music, 'Formats/song.ogg'), join(music, 'Moved/renamed.ogg'));
      const moved = await scan();
      expect(moved).toMatchObject({ moved: 1, added: 0, removed: 0 });
      expect((await trackByPath('Moved/renamed.ogg'))?.id).toBe(before?.id);

      const user = await t.createUser();
      const victim = await trackByPath('Formats/song.opus');
      const now = Date.now();
      await db()
        .insertInto('playlists')
        .values({ id: 'pl1', owner_id: user.id, name: 'P', created_at: now, updated_at: now })
        .execute();
      await db()
        .insertInto('playlist_tracks')
        .values({
          id: 'e1',
          playlist_id: 'pl1',
          position: 0,
          track_id: victim!.id,
          title: victim!.title,
          artist: victim!.artist,
          album: victim!.album,
          duration: victim!.duration,
          added_at: now,
        })
        .execute();
      const removedIds: string[][] = [];
      const off = t.earshot.events.on('library.tracksRemoved', (e) => removedIds.push(e.trackIds));
      rmSync(join(music, 'Formats/song.opus'));
      const gone = await scan();
      off();
      expect(gone.removed).toBe(1);
      expect(removedIds).toEqual([[victim!.id]]);
      expect(await trackByPath('Formats/song.opus')).toBeUndefined();
      const entry = await db()
        .selectFrom('playlist_tracks')
        .selectAll()
        .where('id', '=', 'e1')
        .executeTakeFirstOrThrow();
      expect(entry).toMatchObject({ track_id: null, title: 'Opus Song', artist: 'Opus Artist' });
      // The now-empty album is gone from the catalog.
      expect(
        await db().selectFrom('albums').select('id').where('name', '=', 'Formats Opus').executeTakeFirst(),
      ).toBeUndefined();
    });

    it('a file still being written is not read until it settles; a changed file is updated in place', async () => {
      const src = join(music, 'Tagged/Album One/02 - second.mp3');
      const data = readFileSync(src);
      const partial = join(music, 'Incoming/copy.mp3');
      mkdirSync(join(music, 'Incoming'), { recursive: true });
      writeFileSync(partial, data.subarray(0, 5000));
      const during = await scan();
      expect(during.deferred).toBe(1);
      expect(await trackByPath('Incoming/copy.mp3')).toBeUndefined();
      appendFileSync(partial, data.subarray(5000));
      await new Promise((r) => setTimeout(r, 2100));
      const after = await scan();
      expect(after.added + after.moved).toBe(1);
      const row = await trackByPath('Incoming/copy.mp3');
      expect(row?.title).toBe('Second Song');

      // Change the content of an existing file: same id, new tags.
      const id = row!.id;
      copyFileSync(join(music, 'Tagged/Album One/01 - ignored name.mp3'), partial);
      await new Promise((r) => setTimeout(r, 2100));
      const changed = await scan();
      expect(changed.updated).toBe(1);
      expect(await trackByPath('Incoming/copy.mp3')).toMatchObject({ id, title: 'First Song' });
    });

    it('refuses to scan while another live process scans the same database', async () => {
      if (t.engine === 'postgres') return anotherReplicaScans();
      const sqlite = t.sqlite;
      // The parent of this test process is alive: its run blocks ours.
      sqlite
        .prepare(
          "insert into scan_runs (id, kind, state, owner, started_at) values ('other', 'incremental', 'running', ?, 1)",
        )
        .run(`${hostname()}:${process.ppid}`);
      await expect(t.earshot.library.scanner.start({ trigger: 'test' })).rejects.toThrow(/another process/);
      // Once that process is gone (a pid that does not exist), its run is interrupted and scans proceed.
      sqlite.prepare("update scan_runs set owner = ? where id = 'other'").run(`${hostname()}:2147483646`);
      const summary = await scan();
      expect(summary.state).toBe('done');
      const other = sqlite.prepare("select state from scan_runs where id = 'other'").get() as { state: string };
      expect(other.state).toBe('interrupted');
    });

    it('a scan stopped before it regrouped is finished by the next one, even with nothing new to read', async () => {
      for (let i = 0; i < 3; i++) copyFileSync(join(music, 'Moved/renamed.ogg'), join(music, `Moved/dup${i}.ogg`));
      truncateSync(join(music, 'Bad/empty.mp3'), 0);
      await new Promise((r) => setTimeout(r, 2100));
      const scanner = t.earshot.library.scanner;
      // Really interrupt a scan: stop it as it reaches the group phase (its tracks are written, the
      // album counts are not recomputed).
      const off = scanner.onProgress((p, final) => {
        if (!final && p.phase === 'group') void scanner.stop();
      });
      const stopped = await scanner.start({ trigger: 'test' });
      off();
      expect(stopped).toMatchObject({ state: 'interrupted', added: 3 });
      expect(stopped.phaseMs.group).toBeUndefined();
      const runs = await db().selectFrom('scan_runs').select(['id', 'state']).orderBy('started_at', 'desc').execute();
      expect(runs[0]).toEqual({ id: stopped.runId, state: 'interrupted' });
      const albumCount = async () =>
        (
          await db()
            .selectFrom('albums')
            .select('track_count')
            .where('name', '=', 'Formats Ogg')
            .executeTakeFirstOrThrow()
        ).track_count;
      expect(await albumCount()).toBe(1); // stale: the interrupted run never regrouped

      // Nothing new on disk: only the resume branch makes this scan regroup.
      const next = await scan();
      expect(next).toMatchObject({ state: 'done', added: 0, updated: 0, removed: 0, moved: 0 });
      expect(next.phaseMs.group).toBeGreaterThanOrEqual(0);
      expect(await albumCount()).toBe(4);
      // And once a run has finished, a no-change scan skips the group phase again.
      expect((await scan()).phaseMs.group).toBeUndefined();
    });

    it('a folder-scoped scan walks and compares only its folders', async () => {
      const src = join(music, 'Moved/renamed.ogg');
      mkdirSync(join(music, 'Scoped/A/deep'), { recursive: true });
      mkdirSync(join(music, 'Scoped/B'), { recursive: true });
      copyFileSync(src, join(music, 'Scoped/A/deep/a.ogg'));
      copyFileSync(src, join(music, 'Scoped/B/b.ogg'));
      rmSync(join(music, 'Comp/Hits/02 - b.mp3')); // outside the scope: left alone
      await new Promise((r) => setTimeout(r, 2100));
      const scanner = t.earshot.library.scanner;
      await expect(scanner.start({ folders: ['../etc'] })).rejects.toThrow(/stay inside/);
      await expect(scanner.start({ folders: ['/etc'] })).rejects.toThrow(/stay inside/);

      const scoped = await t.earshot.library.service.runScan({
        trigger: 'watch',
        folders: ['Scoped/A/', 'Scoped/A/deep'],
      });
      expect(scoped).toMatchObject({ state: 'done', folders: ['Scoped/A'], filesFound: 1, added: 1, removed: 0 });
      expect(await trackByPath('Scoped/A/deep/a.ogg')).toBeDefined();
      expect(await trackByPath('Scoped/B/b.ogg')).toBeUndefined();
      expect(await trackByPath('Comp/Hits/02 - b.mp3')).toBeDefined();
      const row = await db()
        .selectFrom('scan_runs')
        .select('folders')
        .where('id', '=', scoped.runId)
        .executeTakeFirstOrThrow();
      expect(JSON.parse(row.folders ?? 'null')).toEqual(['Scoped/A']);

      // A scoped folder that is gone: its tracks are removed, nothing else is.
      rmSync(join(music, 'Scoped/A'), { recursive: true });
      const gone = await t.earshot.library.service.runScan({ trigger: 'watch', folders: ['Scoped/A'] });
      expect(gone).toMatchObject({ added: 0, removed: 1 });
      expect(await trackByPath('Comp/Hits/02 - b.mp3')).toBeDefined();

      // The next whole-library scan picks up the rest.
      const all = await scan();
      expect(all).toMatchObject({ added: 1, removed: 1 });
      expect(await trackByPath('Scoped/B/b.ogg')).toBeDefined();
      expect(await trackByPath('Comp/Hits/02 - b.mp3')).toBeUndefined();
    });
  });
});

/**
 * PostgreSQL: another machine's process (a replica, `earshot scan` elsewhere) holds the scan lock
 * on its own connection, here a real second session. Its pid means nothing on this host.
 */
async function anotherReplicaScans(): Promise<void> {
  const { default: pg } = await import('pg');
  const other = new pg.Client({ connectionString: t.databaseUrl });
  await other.connect();
  try {
    const got = await other.query('select pg_try_advisory_lock($1, $2) ok', [LOCK_CLASS, SCAN_LOCK]);
    expect(got.rows[0].ok).toBe(true);
    // Holding the lock, before its run row exists: nobody else may start.
    await expect(t.earshot.library.scanner.start({ trigger: 'test' })).rejects.toThrow(/another process/);
    await other.query(
      "insert into scan_runs (id, kind, state, owner, started_at) values ('other', 'incremental', 'running', 'replica-b:1', 1)",
    );
    await expect(t.earshot.library.scanner.start({ trigger: 'test' })).rejects.toThrow(
      /another process \(replica-b:1\)/,
    );
    expect((await other.query("select state from scan_runs where id = 'other'")).rows[0].state).toBe('running');
  } finally {
    await other.end(); // the session ends (as when that process is killed): its lock goes with it
  }
  const summary = await scan();
  expect(summary.state).toBe('done');
  const row = await db().selectFrom('scan_runs').select('state').where('id', '=', 'other').executeTakeFirstOrThrow();
  expect(row.state).toBe('interrupted');
}
