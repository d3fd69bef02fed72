/**
 * The scan's WAL checkpoints (LibraryRepository.spaceCheckpoints): spaced out while a scan writes,
 * restored after it, and what the scan left in the WAL is copied into the database at its end.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OpenedDatabase, openDatabase } from '../../db/database.js';
import { migrateToLatest } from '../../db/migrate.js';
import { LibraryRepository } from '../library.repository.js';

let dir: string;
let opened: OpenedDatabase;

/** Frames in the WAL and how many of them are in the database file (a PASSIVE checkpoint of nothing new). */
function walState(): { log: number; checkpointed: number } {
  const [row] = opened.sqlite.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
  return { log: row.log, checkpointed: row.checkpointed };
}

const walBytes = () => statSync(join(dir, 'test.db-wal')).size;

/** Writes ~`pages` pages of rows, one commit per 100 rows of ~4 KiB. */
function write(pages: number): void {
  const insert = opened.sqlite.prepare('insert into blobs (data) values (?)');
  const batch = opened.sqlite.transaction((n: number) => {
    for (let i = 0; i < n; i++) insert.run('x'.repeat(4000));
  });
  for (let done = 0; done < pages; done += 100) batch(100);
}

describe('scan checkpoints', () => {
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'earshot-checkpoints-'));
    opened = openDatabase(join(dir, 'test.db'));
    await migrateToLatest(opened.db); // the repository prepares its statements on the catalog
    opened.sqlite.pragma('wal_checkpoint(TRUNCATE)'); // the WAL starts empty
    opened.sqlite.exec('create table blobs (id integer primary key, data text)');
  });

  afterEach(async () => {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a scan checkpoints every 8,000 pages instead of 1,000, then restores the setting and checkpoints the rest', () => {
    const repo = new LibraryRepository(opened.sqlite);
    expect(opened.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    const restore = repo.spaceCheckpoints(8000);
    expect(opened.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(8000);
    // Past SQLite's 1,000 pages and short of 8,000: no checkpoint restarted the WAL, so it holds
    // every page written (with SQLite's 1,000 it would be reused from its start: see below).
    write(2500);
    expect(walBytes()).toBeGreaterThan(2500 * 4096);
    restore();
    expect(opened.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    const after = walState();
    expect(after.checkpointed).toBe(after.log); // everything is in the database file
    expect(opened.sqlite.prepare('select count(*) n from blobs').get()).toEqual({ n: 2500 });
  });

  it('without it, the WAL is checkpointed and reused every 1,000 pages', () => {
    write(2500);
    expect(walBytes()).toBeLessThan(1500 * 4096);
    const after = walState();
    expect(after.checkpointed).toBe(after.log);
  });

  it('restores the setting when another transaction is open on the connection, and checkpoints once it commits', () => {
    // A download job's transaction spans event-loop turns on the same connection; SQLite refuses a
    // checkpoint inside it (SQLITE_LOCKED), which once left a scan's run 'running' (crash suite).
    const repo = new LibraryRepository(opened.sqlite);
    const restore = repo.spaceCheckpoints(8000);
    write(1200);
    opened.sqlite.exec('BEGIN');
    opened.sqlite.prepare('insert into blobs (data) values (?)').run('y');
    expect(() => opened.sqlite.pragma('wal_checkpoint(PASSIVE)')).toThrow(/locked/); // what SQLite does here
    expect(() => restore()).not.toThrow();
    expect(opened.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    opened.sqlite.exec('COMMIT');
    const after = walState();
    expect(after.checkpointed).toBe(after.log);
    expect(opened.sqlite.prepare('select count(*) n from blobs').get()).toEqual({ n: 1201 });
  });

  it('leaves a connection alone whose checkpoints are off or already as far apart', () => {
    const repo = new LibraryRepository(opened.sqlite);
    opened.sqlite.pragma('wal_autocheckpoint = 0');
    repo.spaceCheckpoints(8000)();
    expect(opened.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    opened.sqlite.pragma('wal_autocheckpoint = 20000');
    repo.spaceCheckpoints(8000)();
    expect(opened.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(20000);
  });
});
