/**
 * The accounts and listening repositories' SQL on both engines (SQLite and PostgreSQL): upserts,
 * conditional updates, counts and joins must answer the same.
 */
import { expect, it } from 'vitest';
import { UsersRepository } from '../accounts/users.repository.js';
import { insertTrack } from '../test/catalog-rows.js';
import { forEachEngine } from '../test/engines.js';
import { ActivityRepository } from './activity.repository.js';

forEachEngine((engine) => {
  it('users: insert, count admins, keep the last admin on demote and delete', async () => {
    const { db } = await engine.open();
    const users = new UsersRepository(db);
    await users.insert({ id: 'a', username: 'Ann', usernameKey: 'ann', passwordHash: 'x', role: 'admin', now: 1 });
    await users.insert({ id: 'b', username: 'Bob', usernameKey: 'bob', passwordHash: null, role: 'user', now: 2 });
    expect(await users.count()).toBe(2);
    expect(await users.countAdmins()).toBe(1);
    expect(await users.setRoleKeepingAnAdmin('a', 'user', 3)).toBe(false);
    expect(await users.deleteKeepingAnAdmin('a')).toBe(false);
    expect(await users.setRoleKeepingAnAdmin('b', 'admin', 3)).toBe(true);
    expect(await users.deleteKeepingAnAdmin('a')).toBe(true);
    expect((await users.list()).map((u) => u.id)).toEqual(['b']);
  });

  it('activity: likes keep their first time, plays count up, history pages with a total', async () => {
    const { db } = await engine.open();
    await new UsersRepository(db).insert({
      id: 'u',
      username: 'U',
      usernameKey: 'u',
      passwordHash: null,
      role: 'user',
      now: 1,
    });
    const activity = new ActivityRepository(db);
    const id = await insertTrack(db, { title: 'One', artist: 'Band', duration: 100 });
    const track = await db.selectFrom('tracks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    await activity.setLiked('u', 'track', id, true, 1_780_000_000_000);
    await activity.setLiked('u', 'track', id, true, 1_780_000_000_999);
    const liked = await db.selectFrom('user_activity').select(['is_liked', 'liked_at']).executeTakeFirstOrThrow();
    expect(liked).toEqual({ is_liked: 1, liked_at: 1_780_000_000_000 });
    await activity.recordPlay('u', track, 90.5, 1_780_000_001_000, 'web');
    await activity.recordPlay('u', track, 12, 1_780_000_002_000, null);
    const row = await db.selectFrom('user_activity').select(['play_count', 'last_played']).executeTakeFirstOrThrow();
    expect(row).toEqual({ play_count: 2, last_played: 1_780_000_002_000 });
    const history = await activity.history('u', 1, 0);
    expect(history.total).toBe(2);
    expect(history.rows).toMatchObject([{ playedAt: 1_780_000_002_000, secondsPlayed: 12, track: { id } }]);
    await activity.setLiked('u', 'track', id, false, 5);
    expect(await db.selectFrom('user_activity').select('liked_at').executeTakeFirstOrThrow()).toEqual({
      liked_at: null,
    });
  });
});
