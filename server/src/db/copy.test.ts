import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { migrateDbCommand } from '../cli/commands/migrate-db.js';
import { insertAlbum, insertArtist, insertTrack } from '../test/catalog-rows.js';
import { hasPostgres, postgresEngine } from '../test/engines.js';
import { copySqliteToPostgres } from './copy.js';
import { DB_FILE_NAME, type Db, openDatabase } from './database.js';
import { migrateToLatest } from './migrate.js';

const now = 1_780_000_000_000;

/** A small but complete household: accounts, keys, settings, a library, remote tracks, listening data. */
async function seed(db: Db): Promise<void> {
  for (const [id, name] of [
    ['u1', 'Ann'],
    ['u2', 'Bob'],
  ] as const) {
    await db
      .insertInto('users')
      .values({ id, username: name, username_key: name.toLowerCase(), role: 'user', created_at: now, updated_at: now })
      .execute();
  }
  await db
    .insertInto('sessions')
    .values({ id: 's1', token_hash: 'h1', user_id: 'u1', created_at: now, last_seen_at: now, expires_at: now + 1 })
    .execute();
  await db.insertInto('settings').values({ key: 'registration', value: '"invite"', updated_at: now }).execute();
  await db
    .insertInto('api_keys')
    .values({ id: 'k1', user_id: 'u1', label: 'phone', key_hash: 'kh', hint: 'ab12', created_at: now })
    .execute();
  const artist = await insertArtist(db, 'Sigur Rós');
  const album = await insertAlbum(db, 'Takk', 'Sigur Rós', artist);
  const local = await insertTrack(db, { title: 'Hoppípolla', artist: 'Sigur Rós', albumId: album, duration: 268.5 });
  const remote = await insertTrack(db, { title: 'Live', source: 'youtube', cached: true });
  await db
    .insertInto('playlists')
    .values({ id: 'p1', owner_id: 'u1', name: 'Mix', created_at: now, updated_at: now })
    .execute();
  await db
    .insertInto('playlist_tracks')
    .values([
      { id: 'e1', playlist_id: 'p1', position: 0, track_id: local, title: 'Hoppípolla', added_at: now },
      { id: 'e2', playlist_id: 'p1', position: 1, track_id: remote, title: 'Live', added_at: now },
    ])
    .execute();
  await db
    .insertInto('user_activity')
    .values({ user_id: 'u1', item_type: 'track', item_id: local, is_liked: 1, liked_at: now, play_count: 3 })
    .execute();
  await db
    .insertInto('plays')
    .values([
      { user_id: 'u1', track_id: local, played_at: now, seconds_played: 200.25 },
      { user_id: 'u2', track_id: remote, played_at: now + 5, seconds_played: 30 },
    ])
    .execute();
  await db
    .insertInto('shares')
    .values({ id: 'sh1', owner_id: 'u1', kind: 'playlist', item_id: 'p1', created_at: now, description: 'for Bob' })
    .execute();
}

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-copy-'));
  mkdirSync(join(dir, 'db'), { recursive: true });
  dirs.push(dir);
  return dir;
}

async function seededSqlite(dir: string) {
  const source = openDatabase(join(dir, 'db', DB_FILE_NAME));
  await migrateToLatest(source.db);
  await seed(source.db);
  return source;
}

afterAll(() => vi.restoreAllMocks());

describe.skipIf(!hasPostgres())('migrate-db (SQLite → PostgreSQL)', () => {
  it('copies every table in one transaction with equal row counts, values intact', async () => {
    const source = await seededSqlite(dataDir());
    const target = await postgresEngine.open({ migrate: false });
    const progress: string[] = [];
    const copied = await copySqliteToPostgres(source, target.db, {
      onProgress: (table, done, total) => done === total && progress.push(`${table}:${done}`),
    });
    const counts = Object.fromEntries(copied.map((c) => [c.table, c.rows]));
    expect(counts).toMatchObject({ users: 2, sessions: 1, settings: 1, api_keys: 1, tracks: 2, albums: 1 });
    expect(counts).toMatchObject({
      artists: 1,
      playlists: 1,
      playlist_tracks: 2,
      user_activity: 1,
      plays: 2,
      shares: 1,
    });
    // Parents before children (foreign keys hold on the target at every insert).
    const order = copied.map((c) => c.table);
    expect(order.indexOf('users')).toBeLessThan(order.indexOf('playlists'));
    expect(order.indexOf('playlists')).toBeLessThan(order.indexOf('playlist_tracks'));
    expect(order.indexOf('tracks')).toBeLessThan(order.indexOf('playlist_tracks'));
    expect(progress).toContain('users:2');

    const track = await target.db
      .selectFrom('tracks')
      .select(['title', 'duration', 'added_at'])
      .where('title', '=', 'Hoppípolla')
      .executeTakeFirstOrThrow();
    expect(track.duration).toBe(268.5);
    expect(typeof track.added_at).toBe('number');
    const user = await target.db.selectFrom('users').selectAll().where('id', '=', 'u1').executeTakeFirstOrThrow();
    expect(user).toEqual(
      await source.db.selectFrom('users').selectAll().where('id', '=', 'u1').executeTakeFirstOrThrow(),
    );
    // The identity column continues after the copied ids.
    const next = await target.db
      .insertInto('plays')
      .values({ user_id: 'u2', played_at: now, seconds_played: 1 })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect(next.id).toBe(3);
    await source.close();
  });

  it('refuses a non-empty target unless forced, then replaces its rows', async () => {
    const source = await seededSqlite(dataDir());
    const target = await postgresEngine.open();
    await target.db
      .insertInto('users')
      .values({ id: 'other', username: 'Zed', username_key: 'zed', role: 'admin', created_at: 1, updated_at: 1 })
      .execute();
    await expect(copySqliteToPostgres(source, target.db)).rejects.toThrow(/not empty: users \(1\).*--force/);
    expect(await target.db.selectFrom('users').select('id').execute()).toEqual([{ id: 'other' }]);
    await copySqliteToPostgres(source, target.db, { force: true });
    const ids = await target.db.selectFrom('users').select('id').orderBy('id').execute();
    expect(ids).toEqual([{ id: 'u1' }, { id: 'u2' }]);
    await source.close();
  });

  it('commits nothing when a row cannot be copied', async () => {
    const source = await seededSqlite(dataDir());
    // SQLite's type affinity keeps text in an integer column; PostgreSQL refuses it.
    source.sqlite.prepare("update tracks set year = 'nineteen' where source_type = 'youtube'").run();
    const target = await postgresEngine.open({ migrate: false });
    await expect(copySqliteToPostgres(source, target.db)).rejects.toThrow(/bigint/);
    expect(await target.db.selectFrom('users').select('id').execute()).toEqual([]);
    expect(await target.db.selectFrom('tracks').select('id').execute()).toEqual([]);
    await source.close();
  });

  it('`earshot migrate-db --to URL` prints the counts, masks the password and refuses a second run', async () => {
    const dir = dataDir();
    await (await seededSqlite(dir)).close();
    const target = await postgresEngine.open({ migrate: false });
    const url = new URL(target.rawUrl ?? '');
    url.password = 'hunter2'; // the test cluster trusts loopback: any password signs in
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    vi.spyOn(console, 'error').mockImplementation((line: string) => void out.push(line));
    const first = await migrateDbCommand.run(['--to', url.toString(), '--data-dir', dir]);
    expect({ first, out }).toMatchObject({ first: 0 });
    const text = out.join('\n');
    expect(text).toMatch(/users\s+2 rows/);
    expect(text).toMatch(/playlist_tracks\s+2 rows/);
    expect(text).toMatch(/row count matches/);
    expect(text).not.toContain('hunter2');
    out.length = 0;
    expect(await migrateDbCommand.run(['--to', url.toString(), '--data-dir', dir])).toBe(1);
    expect(out.join('\n')).toMatch(/Refused: the target database is not empty/);
    expect(await migrateDbCommand.run(['--to', url.toString(), '--data-dir', dir, '--force'])).toBe(0);
    vi.restoreAllMocks();
  });
});
