import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { DB_FILE_NAME } from '../db/database.js';

/** Where things live on disk, derived once from the configuration. */
export interface DataPaths {
  dataDir: string;
  musicDir: string;
  cacheDir: string;
  dbDir: string;
  dbFile: string;
  /** Content-addressed original artwork. */
  artworkDir: string;
}

export function dataPaths(config: Config): DataPaths {
  return {
    dataDir: config.dataDir,
    musicDir: config.musicDir,
    cacheDir: config.cacheDir,
    dbDir: config.dbDir,
    dbFile: join(config.dbDir, DB_FILE_NAME),
    artworkDir: join(config.cacheDir, 'artwork'),
  };
}

export function ensureDataDirs(paths: DataPaths): void {
  for (const dir of [paths.dataDir, paths.musicDir, paths.cacheDir, paths.dbDir, paths.artworkDir]) {
    mkdirSync(dir, { recursive: true });
  }
}
