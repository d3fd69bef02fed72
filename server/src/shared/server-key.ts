/**
 * The server's secret key (signing JWTs, stream tokens, share links, encrypting app passwords).
 * Taken from EARSHOT_SECRET_KEY or the file EARSHOT_SECRET_KEY_FILE names (config/load.ts reads it, config/secret-key.ts
 * checks it), so every replica of one deployment signs and verifies the same tokens; otherwise
 * generated once into `<db dir>/server.key` (mode 0600), written atomically, and loaded before any
 * route is mounted. The key itself is never logged or echoed in an error.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const SERVER_KEY_FILE = 'server.key';

export function loadOrCreateServerKey(dbDir: string, configured?: string): Buffer {
  if (configured) return Buffer.from(configured, 'utf8');
  const file = join(dbDir, SERVER_KEY_FILE);
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim();
    if (text.length >= 43) return Buffer.from(text, 'base64url');
  }
  const key = randomBytes(32);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, key.toString('base64url'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return key;
}
