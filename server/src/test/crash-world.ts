/**
 * The world of the kill -9 suite (issue 13): a data dir with a growing music library, users with
 * sessions, remote tracks served by a slow loopback origin in an offline playlist, and the ledger
 * of every write the server acknowledged. `checkAfterKill` reads what a dead server left on disk.
 *
 * Shared by `server/src/system/crash-suite.test.ts` (≥ 30 cycles) and `bench/crash.bench.ts`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import { newId } from '../shared/ids.js';
import { type Origin, startOrigin } from './origin.js';
import { makeAudio } from './audio.js';
import { startTestServer } from './harness.js';

const run = promisify(execFile);

/** Files in the library at the start; each cycle adds a few more (the scan has new work). */
const INITIAL_FILES = 40;
const REMOTE_TRACKS = 3;

export interface CrashUser {
  id: string;
  name: string;
  cookie: string;
  admin: boolean;
}

/** Bounds on what the DB may hold: `sure` acknowledged, up to `sure + maybe` if unacknowledged ones landed. */
interface Bounded {
  sure: number;
  maybe: number;
}

export interface Ledger {
  /** Acknowledged playlists: id → owner, name and entry-count bounds. */
  playlists: Map<string, { owner: string; name: string; entries: Bounded }>;
  /** Playlists per owner (creations not acknowledged may or may not exist). */
  playlistCount: Map<string, Bounded>;
  /** `user|track` → liked, or null while the last request about it went unanswered. */
  likes: Map<string, boolean | null>;
  /** Counted plays per user. */
  plays: Map<string, Bounded>;
  acknowledged: number;
  unanswered: number;
}

export interface CrashWorld {
  dir: string;
  musicDir: string;
  cacheDir: string;
  dbFile: string;
  origin: Origin;
  users: CrashUser[];
  /** Remote track id → the exact bytes its origin serves. */
  remote: Map<string, Buffer>;
  offlinePlaylistId: string;
  /** Library files we wrote (relative to the music dir) and the size each must keep. */
  libraryFiles: Map<string, number>;
  /** Track ids clients may use (remote ones at first, local ones once a scan found them). */
  trackIds: string[];
  ledger: Ledger;
  /** "job failed" log lines of every run, with their error. */
  jobFailures: string[];
  addLibraryFiles(n: number): void;
}

function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

export async function createWorld(dir: string): Promise<CrashWorld> {
  const origin = await startOrigin();
  const fixtures = join(dir, 'fixtures');
  const base = await makeAudio(join(fixtures, 'base.mp3'), { seconds: 1 });
  const baseSize = statSync(base).size;
  const covers = [join(fixtures, 'cover-a.jpg'), join(fixtures, 'cover-b.jpg')];
  for (const [i, cover] of covers.entries()) {
    const color = i === 0 ? 'red' : 'blue';
    await run('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `color=c=${color}:s=48x48`,
      '-frames:v',
      '1',
      cover,
    ]);
  }

  // In-process set-up: accounts, sessions, the remote tracks and an offline playlist of them.
  const t = await startTestServer({ dir });
  const musicDir = t.config.musicDir;
  const cacheDir = t.config.cacheDir;
  const users: CrashUser[] = [];
  for (const [name, role] of [
    ['admin', 'admin'],
    ['ann', 'user'],
    ['bob', 'user'],
  ] as const) {
    const u = await t.createUser({ username: name, role });
    users.push({ id: u.id, name, cookie: (await t.authHeaders(u)).cookie, admin: role === 'admin' });
  }
  const remote = new Map<string, Buffer>();
  const offlinePlaylistId = newId();
  const now = Date.now();
  const db = t.earshot.database.db;
  await db
    .insertInto('playlists')
    .values({
      id: offlinePlaylistId,
      owner_id: users[0].id,
      name: 'Offline',
      is_offline: 1,
      created_at: now,
      updated_at: now,
    })
    .execute();
  for (let i = 0; i < REMOTE_TRACKS; i++) {
    const song = await makeAudio(join(fixtures, `remote-${i}.mp3`), {
      seconds: 3,
      frequency: 300 + i * 200,
      tags: { title: `Remote ${i}`, artist: 'Origin' },
    });
    // The origin dribbles, so a download is in flight for a good part of every cycle.
    const url = origin.set(`/r${i}.mp3`, { kind: 'slow', path: song, chunk: 4096, everyMs: 40 });
    const id = newId();
    // The row `POST /api/v1/remote/tracks` makes for a URL (that route runs yt-dlp; sources tests cover it).
    await db
      .insertInto('tracks')
      .values({
        id,
        source_type: 'url',
        remote_id: url,
        title: `Remote ${i}`,
        added_by: users[0].id,
        added_at: now,
        updated_at: now,
      })
      .execute();
    await db
      .insertInto('playlist_tracks')
      .values({
        id: newId(),
        playlist_id: offlinePlaylistId,
        position: i,
        track_id: id,
        title: `Remote ${i}`,
        added_at: now,
      })
      .execute();
    remote.set(id, readFileSync(song));
  }
  t.earshot.events.emit('playlist.offlineChanged', {
    playlistId: offlinePlaylistId,
    ownerId: users[0].id,
    isOffline: true,
  });
  await t.earshot.sources.offline.flush();
  // Here the server is killed at random hundreds of times, often mid-download: each kill counts
  // an attempt, and a job past max_attempts is given up (sources/jobs/jobs.repository.ts
  // recoverRunning). These jobs must outlive any number of kills to be checked for completion.
  await t.earshot.database.db.updateTable('jobs').set({ max_attempts: 1_000_000 }).execute();
  await t.close();

  const libraryFiles = new Map<string, number>();
  const old = new Date(Date.now() - 3_600_000);
  const addLibraryFiles = (n: number) => {
    for (let k = 0; k < n; k++) {
      const i = libraryFiles.size;
      const folder = join(`Artist ${i % 5}`, `Album ${Math.floor(i / 5) % 8}`);
      const rel = join(folder, `${String(i).padStart(4, '0')} - Song ${i}.mp3`);
      const abs = join(musicDir, rel);
      mkdirSync(join(musicDir, folder), { recursive: true });
      // Written beside and renamed in, aged past the scanner's settle time: a complete file appears at once.
      const tmp = join(fixtures, 'incoming.mp3');
      copyFileSync(base, tmp);
      utimesSync(tmp, old, old);
      renameSync(tmp, abs);
      libraryFiles.set(rel, baseSize);
      const cover = join(musicDir, folder, 'cover.jpg');
      if (!existsSync(cover) && i % 10 < 4) {
        copyFileSync(covers[i % 2], `${cover}.tmp`);
        utimesSync(`${cover}.tmp`, old, old);
        renameSync(`${cover}.tmp`, cover);
      }
    }
  };
  addLibraryFiles(INITIAL_FILES);

  const ledger: Ledger = {
    playlists: new Map(),
    playlistCount: new Map(users.map((u) => [u.id, { sure: u.admin ? 1 : 0, maybe: 0 }])),
    likes: new Map(),
    plays: new Map(users.map((u) => [u.id, { sure: 0, maybe: 0 }])),
    acknowledged: 0,
    unanswered: 0,
  };
  return {
    dir,
    musicDir,
    cacheDir,
    dbFile: join(t.config.dbDir, 'earshot.db'),
    origin,
    users,
    remote,
    offlinePlaylistId,
    libraryFiles,
    trackIds: [...remote.keys()],
    ledger,
    jobFailures: [],
    addLibraryFiles,
  };
}

const within = (n: number, b: Bounded) => n >= b.sure && n <= b.sure + b.maybe;
const fmt = (b: Bounded) => (b.maybe ? `${b.sure}…${b.sure + b.maybe}` : String(b.sure));

/**
 * Everything a killed server must have left behind. Returns the problems found (empty = fine) and,
 * since the dead process can change nothing any more, settles the ledger's open questions to what
 * the DB holds, so later cycles check exact values again.
 */
export function checkAfterKill(world: CrashWorld, options: { final?: boolean } = {}): string[] {
  const problems: string[] = [];
  const sqlite = new SQLite(world.dbFile);
  try {
    const integrity = sqlite.pragma('integrity_check') as { integrity_check: string }[];
    if (integrity.length !== 1 || integrity[0].integrity_check !== 'ok')
      problems.push(`integrity_check: ${integrity.map((r) => r.integrity_check).join('; ')}`);
    const fk = sqlite.pragma('foreign_key_check') as unknown[];
    if (fk.length > 0) problems.push(`foreign_key_check: ${fk.length} rows`);
    problems.push(...checkLedger(world, sqlite));
    problems.push(...checkWork(world, sqlite, options.final ?? false));
    world.trackIds = (sqlite.prepare('select id from tracks order by id').all() as { id: string }[]).map((r) => r.id);
  } finally {
    sqlite.close();
  }
  problems.push(...checkFiles(world));
  return problems;
}

function checkLedger(world: CrashWorld, sqlite: SQLite.Database): string[] {
  const problems: string[] = [];
  const { ledger } = world;
  for (const [id, p] of ledger.playlists) {
    const row = sqlite.prepare('select owner_id, name from playlists where id = ?').get(id) as
      | { owner_id: string; name: string }
      | undefined;
    if (!row || row.owner_id !== p.owner || row.name !== p.name) {
      problems.push(`lost write: playlist ${p.name} (${id}) ${row ? `is now ${row.name}` : 'is missing'}`);
      continue;
    }
    const { n } = sqlite.prepare('select count(*) n from playlist_tracks where playlist_id = ?').get(id) as {
      n: number;
    };
    if (!within(n, p.entries)) problems.push(`playlist ${p.name}: ${n} entries, acknowledged ${fmt(p.entries)}`);
    p.entries = { sure: n, maybe: 0 };
  }
  for (const [owner, b] of ledger.playlistCount) {
    const { n } = sqlite.prepare('select count(*) n from playlists where owner_id = ?').get(owner) as { n: number };
    if (!within(n, b)) problems.push(`user ${owner}: ${n} playlists, acknowledged ${fmt(b)}`);
    ledger.playlistCount.set(owner, { sure: n, maybe: 0 });
  }
  const liked = sqlite.prepare(
    "select is_liked from user_activity where user_id = ? and item_type = 'track' and item_id = ?",
  );
  for (const [key, want] of ledger.likes) {
    const [user, track] = key.split('|');
    const row = liked.get(user, track) as { is_liked: number } | undefined;
    const actual = row?.is_liked === 1;
    if (want !== null && actual !== want)
      problems.push(`lost write: ${want ? 'like' : 'unlike'} of ${track} by ${user}`);
    ledger.likes.set(key, actual);
  }
  for (const [user, b] of ledger.plays) {
    const { n } = sqlite.prepare('select count(*) n from plays where user_id = ?').get(user) as { n: number };
    if (!within(n, b)) problems.push(`user ${user}: ${n} plays, acknowledged ${fmt(b)}`);
    ledger.plays.set(user, { sure: n, maybe: 0 });
  }
  // A play is its log row plus the counters, in one transaction: a kill never splits them.
  const split = sqlite
    .prepare(
      `select p.user_id, p.track_id, count(*) n, ua.play_count pc from plays p
       left join user_activity ua on ua.user_id = p.user_id and ua.item_type = 'track' and ua.item_id = p.track_id
       group by p.user_id, p.track_id having n != coalesce(pc, 0)`,
    )
    .all() as { user_id: string; track_id: string; n: number; pc: number | null }[];
  for (const s of split) problems.push(`plays of ${s.track_id} by ${s.user_id}: ${s.n} rows, play_count ${s.pc}`);
  return problems;
}

/** Scans and cache jobs: a dead process may leave its own run `running`, never an older one's. */
function checkWork(world: CrashWorld, sqlite: SQLite.Database, final: boolean): string[] {
  const problems: string[] = [];
  const running = sqlite.prepare("select id from scan_runs where state = 'running'").all();
  if (running.length > (final ? 0 : 1)) problems.push(`${running.length} scan runs still 'running'`);
  const failed = sqlite.prepare("select dedupe_key, last_error error from jobs where state = 'failed'").all() as {
    dedupe_key: string;
    error: string | null;
  }[];
  for (const f of failed) problems.push(`cache job for ${f.dedupe_key} failed: ${f.error}`);
  const cached = sqlite
    .prepare("select id, local_path from tracks where source_type != 'local' and is_cached = 1")
    .all() as {
    id: string;
    local_path: string | null;
  }[];
  for (const row of cached) {
    const want = world.remote.get(row.id);
    const file = row.local_path ? join(world.cacheDir, row.local_path) : null;
    if (!want || !file || !existsSync(file)) {
      // A row marked cached must point at a file (start-up resets rows whose file is missing, but
      // only a row the dead process had no time to see deleted may lack one).
      problems.push(`track ${row.id} is marked cached but ${file ?? 'has no path'} is missing`);
    } else if (!readFileSync(file).equals(want)) problems.push(`cached file ${file} differs from the origin's`);
  }
  if (final) {
    const local = sqlite.prepare("select local_path from tracks where source_type = 'local'").all() as {
      local_path: string;
    }[];
    const indexed = new Set(local.map((r) => r.local_path.split('/').join(sep)));
    const missing = [...world.libraryFiles.keys()].filter((f) => !indexed.has(f));
    if (missing.length) problems.push(`${missing.length} library files never scanned (e.g. ${missing[0]})`);
    // Each job left says why: its state, attempts, when it may run next and its last error.
    const pending = sqlite
      .prepare("select state, attempts, run_after, last_error from jobs where state != 'done'")
      .all() as { state: string; attempts: number; run_after: number; last_error: string | null }[];
    if (pending.length) {
      const why = pending.map(
        (j) =>
          `${j.state}, ${j.attempts} attempts, runs after ${Math.round((j.run_after - Date.now()) / 1000)} s, last error: ${j.last_error ?? 'none'}`,
      );
      problems.push(`${pending.length} cache jobs not done (${why.join('; ')})`);
    }
    const notCached = sqlite
      .prepare(
        `select count(*) n from playlist_tracks pt join tracks t on t.id = pt.track_id
         where pt.playlist_id = ? and t.is_cached = 0`,
      )
      .get(world.offlinePlaylistId) as { n: number };
    if (notCached.n) problems.push(`${notCached.n} tracks of the offline playlist not cached`);
  }
  return problems;
}

/** No partial file under a final name: every complete-looking file holds exactly what it should. */
function checkFiles(world: CrashWorld): string[] {
  const problems: string[] = [];
  const remoteBodies = [...world.remote.values()];
  for (const file of filesUnder(world.cacheDir)) {
    const name = basename(file);
    if (name.endsWith('.part') || name.startsWith('.')) continue;
    const rel = relative(world.cacheDir, file);
    const top = rel.split(sep)[0];
    if (top === 'url') {
      const body = readFileSync(file);
      if (!remoteBodies.some((b) => b.equals(body)))
        problems.push(`partial or foreign file under a final name: ${rel}`);
    } else if (/^[0-9a-f]{64}\.\w+$/.test(name)) {
      const hash = createHash('sha256').update(readFileSync(file)).digest('hex');
      if (!name.startsWith(hash)) problems.push(`content-addressed file does not match its hash: ${rel}`);
    }
  }
  // A scheduled backup is written beside its final name and renamed once verified.
  for (const file of filesUnder(join(world.dir, 'backups'))) {
    if (basename(file).startsWith('.') || !file.endsWith('.db')) continue;
    try {
      const backup = new SQLite(file, { readonly: true });
      const ok = backup.pragma('quick_check', { simple: true }) === 'ok';
      backup.close();
      if (!ok) problems.push(`backup ${basename(file)} fails quick_check`);
    } catch (err) {
      problems.push(`backup ${basename(file)} does not open: ${(err as Error).message}`);
    }
  }
  for (const [rel, size] of world.libraryFiles) {
    const abs = join(world.musicDir, rel);
    if (!existsSync(abs) || statSync(abs).size !== size) problems.push(`library file changed: ${rel}`);
  }
  return problems;
}
