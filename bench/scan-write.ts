/**
 * The scan's write side alone, single-threaded, for comparing write-path changes with less noise
 * than a whole scan (no readers competing for the 2 cores): the tags of a library are read once
 * (`readTrack`, cached in a JSON file), then each run writes them into a fresh migrated database
 * as the read phase does (`LibraryRepository.writeBatch`, 400 rows per transaction), runs the
 * group phase and prints the CPU of each part (and the writes' wall time: a checkpoint's sync is
 * not CPU), the peak RSS and the WAL file's size after the writes. Variants: SCAN_WRITE_CACHE
 * (page cache, KiB), SCAN_WRITE_INDEX=end (stamp index built after), SCAN_WRITE_CKPT (WAL pages
 * between checkpoints; the scan uses 8000, SQLite's default is 1000).
 *
 *   node --import tsx scan-write.ts --lib /tmp/earshot-bench-20k [--cache /tmp/reads.json] [--runs 3]
 *
 * Every run is a fresh process (`--child`), so JIT warm-up and heap state are alike.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../server/src/db/database.js';
import { migrateToLatest } from '../server/src/db/migrate.js';
import { GroupRepository } from '../server/src/library/group.repository.js';
import { LibraryRepository, scanId, type TrackWrite } from '../server/src/library/library.repository.js';
import { readTrack } from '../server/src/library/tag-worker.js';
import { absolutePath, walkLibrary } from '../server/src/library/scan/walk.js';

const { values } = parseArgs({
  options: {
    lib: { type: 'string' },
    cache: { type: 'string' },
    runs: { type: 'string', default: '3' },
    child: { type: 'boolean', default: false },
  },
});
const lib = values.lib ?? '/tmp/earshot-bench-20k';
const cacheFile = values.cache ?? join(tmpdir(), `earshot-scan-write-${lib.replace(/\W+/g, '_')}.json`);

type Row = Omit<TrackWrite, 'id' | 'artworkId' | 'addedAt'>;

async function readAll(): Promise<Row[]> {
  if (existsSync(cacheFile)) return JSON.parse(readFileSync(cacheFile, 'utf8')) as Row[];
  const walked = await walkLibrary(lib);
  const root = realpathSync(lib);
  const rows: Row[] = [];
  for (const [i, f] of walked.files.entries()) {
    const r = await readTrack({ id: i, abs: absolutePath(root, f.rel), rel: f.rel, size: f.size, lrc: f.lrc }, [
      ';',
      '/',
    ]);
    if (r.ok) rows.push({ rel: f.rel, size: f.size, mtime: f.mtime, fingerprint: r.fingerprint, tags: r.tags });
  }
  writeFileSync(cacheFile, JSON.stringify(rows));
  return rows;
}

const ms = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

async function child(): Promise<void> {
  const rows = await readAll();
  const dir = mkdtempSync(join(tmpdir(), 'earshot-scan-write-'));
  const opened = openDatabase(join(dir, 'earshot.db'));
  try {
    await migrateToLatest(opened.db);
    const repo = new LibraryRepository(opened.sqlite);
    // SCAN_WRITE_CACHE: the page cache during the writes in KiB (0: the connection's usual 16 MB).
    const cacheKib = Number(process.env.SCAN_WRITE_CACHE ?? 4096);
    const restore = cacheKib > 0 ? repo.limitPageCache(cacheKib) : () => {};
    repo.loadCaches();
    // SCAN_WRITE_CKPT: wal_autocheckpoint (pages) during the writes (unset: SQLite's 1000).
    if (process.env.SCAN_WRITE_CKPT)
      opened.sqlite.pragma(`wal_autocheckpoint = ${Number(process.env.SCAN_WRITE_CKPT)}`);
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    const deferIndex = process.env.SCAN_WRITE_INDEX === 'end';
    if (deferIndex) repo.suspendStampIndex();
    for (let i = 0; i < rows.length; i += 400) {
      const insert = rows.slice(i, i + 400).map((r) => ({ ...r, id: scanId(), artworkId: null, addedAt: null }));
      repo.writeBatch({ insert, update: [], errors: [] }, [], [], Date.now());
    }
    const write = ms(process.cpuUsage(c0));
    const walMb = Math.round(statSync(join(dir, 'earshot.db-wal')).size / 1048576);
    const writeWall = performance.now() - w0;
    const c1 = process.cpuUsage();
    await new GroupRepository(opened.sqlite).regroup(Date.now(), async () => {});
    const group = ms(process.cpuUsage(c1));
    const c2 = process.cpuUsage();
    if (deferIndex) repo.restoreStampIndex();
    const end = ms(process.cpuUsage(c2));
    restore();
    const rss = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
    console.log(
      JSON.stringify({
        rows: rows.length,
        writeMsPerRow: +(write / rows.length).toFixed(4),
        writeWallMsPerRow: +(writeWall / rows.length).toFixed(4),
        groupMsPerRow: +(group / rows.length).toFixed(4),
        endMs: Math.round(end),
        peakRssMb: Math.round(rss),
        walMb,
      }),
    );
  } finally {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.child) {
  await child();
} else {
  await readAll();
  for (let run = 1; run <= Number(values.runs); run++) {
    const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1), '--child'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    console.log(`run ${run} (load ${loadavg()[0].toFixed(1)}): ${r.stdout.trim()}`);
  }
}
