/**
 * The server's secret key (signing JWTs, stream tokens, share links, encrypting app passwords).
 * Taken from EARSHOT_SECRET_KEY or the file EARSHOT_SECRET_KEY_FILE names (config/load.ts reads and
 * checks it), so every replica of one deployment signs and verifies the same tokens; otherwise
 * generated once into `<db dir>/server.key` (mode 0600), written atomically, and loaded before any
 * route is mounted. The key itself is never logged or echoed in an error.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const SERVER_KEY_FILE = 'server.key';

/** Shortest configured key accepted (characters; the key's bytes are its UTF-8 encoding). */
export const MIN_SECRET_KEY_LENGTH = 32;
/** Fewer distinct characters than this is a placeholder (`xxxx…`, `changeme…`), not a key. */
const MIN_DISTINCT_CHARACTERS = 10;

/**
 * Why a configured key is unusable, in plain words that never repeat the key, or null when it is
 * fine. Any printable text of 32+ characters is accepted as before (its UTF-8 bytes are the key);
 * control characters (a pasted line break, a NUL) and low-variety placeholders are refused.
 */
export function secretKeyProblem(key: string): string | null {
  if (key.length < MIN_SECRET_KEY_LENGTH)
    return `is ${key.length} characters long; it needs at least ${MIN_SECRET_KEY_LENGTH} (generate one with: openssl rand -base64 48)`;
  if (/[\u0000-\u001f\u007f]/.test(key))
    return 'contains a line break or another control character (a copy-paste slip?); use printable characters only';
  if (new Set(key).size < MIN_DISTINCT_CHARACTERS)
    return `uses fewer than ${MIN_DISTINCT_CHARACTERS} different characters, which looks like a placeholder (generate one with: openssl rand -base64 48)`;
  return null;
}

/** A key file's content: the text without the one trailing line break editors and `echo` add. */
export function keyFromFileText(text: string): string {
  return text.replace(/\r?\n$/, '');
}

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
